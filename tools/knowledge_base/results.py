"""What a knowledge-base search returns, and how its passages and evidence are assembled.

Exists so the search itself (``tools.knowledge_base.search``) holds only the ranking: the
result type, the chunk hits it groups into passages, and the signals abstention reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from state import Passage
from tools.knowledge_base.audience import is_internal
from tools.knowledge_base.confidence import Signals, abstention_model
from tools.knowledge_base.fusion import bm25_weight
from tools.knowledge_base.lexical import LexicalIndex, tokenize

__all__ = ["Hit", "SearchResult", "doc_order", "fusion_weights", "passage_text", "signals_of"]


@dataclass
class SearchResult:
    """Documents found for a query, and how confident the knowledge base is."""

    query: str
    passages: list[Passage]
    top_score: float
    """Highest cosine similarity of any chunk to the query."""
    threshold: float
    """Cosine below which the query is treated as out of scope for this collection."""
    term_weights: dict[str, float]
    """IDF of the query's stemmed terms in this collection (for sentence selection)."""
    dense_ranking: list[str] = field(default_factory=list)
    bm25_ranking: list[str] = field(default_factory=list)
    internal: list[dict[str, Any]] = field(default_factory=list)
    """Staff-only documents that matched (``{doc_id, title, rank}``): never in ``passages``;
    ``rank`` is their place in ``ranking``."""
    ranking: list[str] = field(default_factory=list)
    """Every document found, best first, staff-only ones included (what evaluations score)."""
    signals: Signals | None = None
    """The dense search's evidence for ``confidence`` (None for BM25 alone)."""

    @property
    def confidence(self) -> float:
        """0..1: how likely the knowledge base holds the answer (see ``confidence``).

        BM25 alone: how far the best chunk's coverage of the query is above the share
        required (0 at or below it).
        """
        if self.signals is not None:
            return round(abstention_model().probability(self.signals), 4)
        span = max(1e-6, 1.0 - self.threshold)
        return round(min(1.0, max(0.0, (self.top_score - self.threshold) / span * 2)), 4)

    @property
    def answerable(self) -> bool:
        """Whether to answer from these documents rather than abstain."""
        if self.signals is not None:
            return self.confidence >= abstention_model().answer_at
        return self.top_score >= self.threshold


@dataclass
class Hit:
    """One chunk found by either ranking, with what a passage and the audience rule need."""

    chunk_id: str
    doc_id: str
    title: str
    source: str
    text: str
    chunk: int
    heading: str
    cosine: float | None = None
    internal: bool = False
    url: str | None = None

    @classmethod
    def of(
        cls,
        chunk_id: str,
        meta: dict[str, Any],
        text: str,
        cosine: float | None,
        rule: str,
        url: str | None = None,
    ) -> Hit:
        """A chunk's hit from its stored metadata (``rule``: the staff-only pattern)."""
        return cls(
            chunk_id,
            meta["doc_id"],
            meta["title"],
            meta["source"],
            text,
            int(meta.get("chunk", 0)),
            str(meta.get("heading", "")),
            cosine,
            is_internal(meta, rule),
            url,
        )


def fusion_weights(mode: str, idf_mass: float) -> dict[str, float]:
    """Weights of the dense and BM25 rankings for a fusion mode and the query's IDF mass."""
    if mode == "dense":
        return {"dense": 1.0, "bm25": 0.0}
    if mode == "bm25":
        return {"dense": 0.0, "bm25": 1.0}
    if mode == "rrf":
        return {"dense": 1.0, "bm25": 1.0}
    if mode == "adaptive":
        return {"dense": 1.0, "bm25": bm25_weight(idf_mass)}
    raise ValueError(f"unknown fusion mode {mode!r}: use adaptive, rrf, dense or bm25")


def passage_text(hits: list[Hit]) -> str:
    """The document's best chunks in reading order; later ones under their own heading."""
    ordered = sorted(hits, key=lambda h: h.chunk)
    parts = [ordered[0].text]
    for hit in ordered[1:]:
        body = hit.text.split("\n\n", 1)[1] if "\n\n" in hit.text else hit.text
        heading = hit.heading.rsplit(" > ", 1)[-1] if hit.heading else ""
        parts.append(f"## {heading}\n{body}" if heading else body)
    return "\n\n".join(parts)


def signals_of(
    query: str,
    index: LexicalIndex,
    top: float,
    dense_docs: list[str],
    bm25_docs: list[str],
    passages: list[Passage],
    threshold: float,
) -> Signals:
    """What the search says about whether it found the answer (see ``confidence``)."""
    unseen = index.idf_of_count(0)
    terms = {t: index.idf(t) or unseen for t in dict.fromkeys(tokenize(query))}
    coverage = 0.0
    if passages and terms:
        present = set(tokenize(f"{passages[0]['title']} {passages[0]['text']}"))
        coverage = sum(w for t, w in terms.items() if t in present) / sum(terms.values())
    agreement = 0.0
    if dense_docs and dense_docs[0] in bm25_docs[:10]:
        agreement = 1.0 / (1 + bm25_docs.index(dense_docs[0]))
    return Signals(top - threshold, coverage, agreement)


def doc_order(chunk_ids: list[str], hits: dict[str, Hit]) -> list[str]:
    """The documents of ``chunk_ids`` in first-seen order, staff-only ones left out."""
    return list(dict.fromkeys(hits[c].doc_id for c in chunk_ids if not hits[c].internal))
