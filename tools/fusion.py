"""Combining the dense and BM25 rankings.

Equal-weight reciprocal-rank fusion wins when both retrievers are good (tau2
banking) but loses to dense retrieval alone when BM25 is weak (FAQ-style
collections of short user questions). So BM25's weight is not fixed: it grows
with the lexical evidence in the query (how many informative, in-vocabulary
terms it has). A short question with one or two known words leans on dense
retrieval; a long, term-rich description lets BM25 count fully.
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
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda kv: kv[1], reverse=True)


def bm25_weight(idf_mass: float, saturation: float = 12.0) -> float:
    """BM25's weight relative to dense (1.0) from the query's summed IDF of known terms.

    ``idf_mass / (idf_mass + saturation)`` scaled to reach 1.0 for term-rich queries:
    0 for a query with no known terms, about 0.3 for a typical short question,
    about 1 for a paragraph-long description.

    >>> bm25_weight(0.0)
    0.0
    >>> round(bm25_weight(100.0), 2)
    1.0
    """
    if idf_mass <= 0:
        return 0.0
    return min(1.0, 1.5 * idf_mass / (idf_mass + saturation))
