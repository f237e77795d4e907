"""Combining the dense and BM25 rankings.

Equal-weight reciprocal-rank fusion wins when both retrievers are good (tau2
banking) but loses to dense retrieval alone when BM25 is weak (FAQ-style
collections of short user questions). So BM25's weight is not fixed: it grows
with the lexical evidence in the query (the summed IDF of its in-vocabulary
terms). A short question leans on dense retrieval alone; a term-rich
description gets equal-weight fusion.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["RRF_K", "bm25_weight", "weighted_rrf"]

RRF_K = 60


def weighted_rrf(
    rankings: Mapping[str, Sequence[str]], weights: Mapping[str, float], k: int = RRF_K
) -> list[tuple[str, float]]:
    """Weighted reciprocal-rank fusion: ``score(d) = sum_r w_r / (k + rank_r(d))``, best first.

    Ranks start at 1. Ties keep the order of first appearance in the rankings.

    >>> weighted_rrf({"dense": ["a", "b"], "bm25": ["b", "c"]}, {"dense": 1.0, "bm25": 1.0})[0][0]
    'b'
    >>> [d for d, _ in weighted_rrf({"dense": ["a", "b"], "bm25": ["b"]}, {"dense": 1, "bm25": 0})]
    ['a', 'b']
    """
    scores: dict[str, float] = {}
    for name, ranking in rankings.items():
        weight = weights.get(name, 0.0)
        if weight <= 0:
            continue  # a retriever with no weight contributes no candidates either
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda kv: kv[1], reverse=True)


def bm25_weight(idf_mass: float, start: float = 20.0, full: float = 40.0) -> float:
    """BM25's weight relative to dense (1.0) from the query's summed IDF of known terms.

    0 up to ``start`` (a short question: on FAQ-style collections BM25 only adds
    noise), rising linearly to 1.0 (equal-weight RRF) at ``full`` (a sentence or more
    of informative terms, where BM25 is as good as dense on documentation). Fitted
    on collections of 1.2k-1.5k chunks (bench/retrieval.py): BANKING77 and CLINC150
    FAQ sets, where it matches dense, and tau2 banking, where it matches RRF.

    >>> bm25_weight(0.0)
    0.0
    >>> bm25_weight(30.0)
    0.5
    >>> bm25_weight(100.0)
    1.0
    """
    if idf_mass <= start:
        return 0.0
    return min(1.0, (idf_mass - start) / (full - start))
