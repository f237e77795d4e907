"""Hybrid search over a tenant's collection, and the BM25-only fallback.

Exists to fuse the dense and BM25 rankings (see ``tools.knowledge_base.fusion``) into
passages (a document's best three chunks), report the nearest-neighbour cosine against
the collection's abstention threshold, and keep each tenant's BM25 index (with the
chunks' embeddings) in memory for the collection version it was built from.

It must never write to Chroma or the database, never run blocking work on the event
loop, and never answer from a BM25 index built for another collection version.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from state import Passage, Settings
from tools.embeddings.blas import one_blas_thread
from tools.embeddings.sentence import QueryBatcher
from tools.knowledge_base.audience import is_internal
from tools.knowledge_base.calibration import FALLBACK_THRESHOLD
from tools.knowledge_base.chroma import ChromaCollections
from tools.knowledge_base.focus import asking_part
from tools.knowledge_base.fusion import weighted_rrf
from tools.knowledge_base.lexical import LexicalIndex, tokenize
from tools.knowledge_base.manifest import Manifest
from tools.knowledge_base.results import (
    Hit,
    SearchResult,
    doc_order,
    fusion_weights,
    passage_text,
    signals_of,
)
from tools.resilience.errors import MissingDataError
from tools.resilience.executor import BlockingExecutor

__all__ = [
    "INLINE_LEXICAL_CHUNKS",
    "LEXICAL_COVERAGE",
    "HybridSearch",
    "SearchResult",
    "fusion_weights",
]

LEXICAL_COVERAGE = 0.5
"""Share of the query's IDF mass a chunk must contain to answer from BM25 alone."""
_CHUNKS_PER_PASSAGE = 3
"""A passage shows a document's three best chunks: the answer is often not in the first
(the steps of "How to request a refund" rank third, after the intro and what follows)."""
_INLINE_DENSE_CHUNKS = 20_000
"""Up to this many chunks the exact dense search runs on the event loop (< 1 ms)."""
INLINE_LEXICAL_CHUNKS = 5_000
"""Up to this many chunks BM25 runs on the event loop (0.05 ms for the tau2 KB's 1,228;
at 100,000 chunks of common words it took 14 ms, which would stall other conversations)."""
_STATE_TTL_S = 1.0
"""How long search trusts the collection version it read: an ingest in this process is
seen at once, one in another process within this time (one database read saved per turn)."""


@dataclass
class _LexicalCache:
    version: int
    index: LexicalIndex
    chunk_ids: list[str]
    metas: list[dict[str, Any]]
    texts: list[str]
    vectors: Any = None
    """The chunks' embeddings (rows in ``chunk_ids`` order): cosines of BM25-only hits."""
    positions: dict[str, int] = field(default_factory=dict)
    title_terms: frozenset[str] = frozenset()
    """Stemmed words of the documents' titles (what names a subject)."""


class HybridSearch:
    """Searches tenants' collections; caches their state and BM25 indexes per process."""

    def __init__(
        self,
        settings: Settings,
        queries: QueryBatcher,
        executor: BlockingExecutor,
        chroma: ChromaCollections,
        manifest: Manifest,
    ) -> None:
        self.settings = settings
        self.queries = queries
        self.executor = executor
        self.chroma = chroma
        self.manifest = manifest
        self._lexical: dict[str, _LexicalCache] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._states: dict[str, tuple[float, int, dict[str, Any]]] = {}

    def forget_state(self, tenant_id: str) -> None:
        """Drop the cached collection state (after an ingest or a calibration here)."""
        self._states.pop(tenant_id, None)

    def is_indexed(self, tenant_id: str) -> bool:
        """Whether a BM25 index of the tenant is in memory (of any version)."""
        return tenant_id in self._lexical

    async def state(self, tenant_id: str) -> tuple[int, dict[str, Any]]:
        """``collection_state``, trusted for ``_STATE_TTL_S`` (ingests here invalidate it)."""
        now = asyncio.get_running_loop().time()
        cached = self._states.get(tenant_id)
        if cached is not None and cached[0] > now:
            return cached[1], cached[2]
        version, calibration = await self.manifest.collection_state(tenant_id)
        if version:
            self._states[tenant_id] = (now + _STATE_TTL_S, version, calibration)
        return version, calibration

    async def search(
        self,
        query: str,
        tenant_id: str,
        k: int,
        mode: str,
        threshold: float | None,
        also_embed: Sequence[str] = (),
    ) -> SearchResult:
        """The ``k`` best documents for ``query``, each shown by its best chunks.

        ``also_embed``: texts the caller needs embedded next (left in the query cache),
        sent in the same model call as the query.
        """
        version, calibration = await self.state(tenant_id)
        if threshold is None:
            threshold = self.settings.abstain_threshold
        if threshold is None:
            threshold = float(calibration.get("threshold", FALLBACK_THRESHOLD))
        if version == 0:
            return SearchResult(query, [], 0.0, threshold, {})
        await self.chroma.open(tenant_id)
        lexical = await self.lexical_index(tenant_id, version)
        if not lexical.chunk_ids and calibration.get("chunks"):
            # The manifest says it was ingested; this worker's store has nothing (a fresh
            # volume): an outage to report, not "nothing matched".
            raise MissingDataError(
                f"the vector store has none of the {calibration['chunks']} chunks "
                "ingested: run `support-agent kb ingest`",
                tool="kb_search",
            )
        candidates = self.settings.candidate_k
        focus = asking_part(query)
        texts = [t for t in (query, focus, *also_embed) if t]
        if lexical.index.size <= INLINE_LEXICAL_CHUNKS:  # a thread hop would cost more
            bm25_hits = lexical.index.search(query, candidates)
            embedded = await self.queries.embed_together(texts)
        else:
            embedded, bm25_hits = await asyncio.gather(
                self.queries.embed_together(texts),
                self.executor.run(lexical.index.search, query, candidates),
            )
        vector = embedded[0]
        focus_vector = embedded[1] if focus else None
        dense = await self._dense(tenant_id, lexical, vector, candidates, focus_vector)
        rule = self.settings.internal_pattern(tenant_id)
        settings = self.settings

        def url_of(meta: dict[str, Any]) -> str | None:
            return settings.article_url(tenant_id, meta)

        hits: dict[str, Hit] = {}
        dense_ids: list[str] = []
        for cid, text, meta, similarity in dense:
            hits[cid] = Hit.of(cid, meta, text, similarity, rule, url_of(meta))
            dense_ids.append(cid)
        bm25_ids: list[str] = []
        for position, _score in bm25_hits:
            cid, meta = lexical.chunk_ids[position], lexical.metas[position]
            hit = Hit.of(cid, meta, lexical.texts[position], None, rule, url_of(meta))
            hits.setdefault(cid, hit)
            bm25_ids.append(cid)
        terms = {t: lexical.index.idf(t) for t in dict.fromkeys(tokenize(query))}
        weights = fusion_weights(mode, sum(terms.values()))
        fused = weighted_rrf({"dense": dense_ids, "bm25": bm25_ids}, weights)
        by_doc: dict[str, list[tuple[Hit, float]]] = {}
        internal: dict[str, dict[str, Any]] = {}
        ranking: list[str] = []
        for cid, score in fused:
            hit = hits[cid]
            if hit.internal:  # for staff: kept for the ticket, never shown to the customer
                if hit.doc_id not in internal and len(internal) < k:
                    internal[hit.doc_id] = {"doc_id": hit.doc_id, "title": hit.title}
                    internal[hit.doc_id]["rank"] = len(ranking)
                    ranking.append(hit.doc_id)
                continue
            if hit.doc_id not in by_doc and len(by_doc) < k:
                ranking.append(hit.doc_id)
            group = by_doc.get(hit.doc_id)
            if group is None and len(by_doc) < k:
                by_doc[hit.doc_id] = [(hit, score)]
            elif group is not None and len(group) < _CHUNKS_PER_PASSAGE:
                group.append((hit, score))
        passages: list[Passage] = []
        # Documents found by BM25 alone: their cosine, from memory (Chroma only as fallback).
        unscored = [g[0][0].chunk_id for g in by_doc.values() if g[0][0].cosine is None]
        cosines = _local_cosines(lexical, unscored, vector)
        missing = [cid for cid in unscored if cid not in cosines]
        if missing:
            cosines.update(await self._cosines(tenant_id, missing, vector))
        for group in by_doc.values():
            best, score = group[0]
            cosine = best.cosine
            if cosine is None:
                cosine = cosines.get(best.chunk_id, 0.0)
            passage = Passage(
                doc_id=best.doc_id,
                title=best.title,
                source=best.source,
                text=passage_text([hit for hit, _ in group]),
                score=round(score, 6),
                dense=round(cosine, 4),
            )
            if best.url:
                passage["url"] = best.url
            passages.append(passage)
        top = max(
            (h.cosine for h in hits.values() if h.cosine is not None and not h.internal),
            default=0.0,
        )
        dense_docs, bm25_docs = doc_order(dense_ids, hits), doc_order(bm25_ids, hits)
        signals = signals_of(query, lexical.index, top, dense_docs, bm25_docs, passages, threshold)
        return SearchResult(
            query,
            passages,
            round(top, 4),
            threshold,
            terms,
            dense_ranking=dense_docs,
            bm25_ranking=bm25_docs,
            internal=list(internal.values()),
            ranking=ranking,
            signals=signals,
        )

    def rarity(self, tenant_id: str) -> Callable[[str], float] | None:
        """How distinctive a stemmed term is as a name (None before the index is built).

        Its rarity among the tenant's chunks when some document's title uses it, else 0:
        titles name what documents are about (products, places, plans), while a word
        that is merely rare ("ok", "sure" in a set of FAQ answers) names nothing.
        """
        cached = self._lexical.get(tenant_id)
        if cached is None:
            return None
        index, titles = cached.index, cached.title_terms
        return lambda term: index.rarity(term) if term in titles else 0.0

    def search_lexical(self, query: str, tenant_id: str, k: int) -> SearchResult:
        """BM25 alone over the chunks already in memory (see ``KnowledgeBase.search_lexical``)."""
        cached = self._lexical.get(tenant_id)
        if cached is None:
            return SearchResult(query, [], 0.0, LEXICAL_COVERAGE, {})
        # A word the collection never uses counts as the rarest word: it must be covered too.
        unseen = math.log(1 + (cached.index.size + 0.5) / 0.5)
        terms = {t: cached.index.idf(t) or unseen for t in dict.fromkeys(tokenize(query))}
        total = sum(terms.values()) or 1.0
        passages: list[Passage] = []
        best_coverage = 0.0
        rule = self.settings.internal_pattern(tenant_id)
        for position, score in cached.index.search(query, self.settings.candidate_k):
            meta = cached.metas[position]
            if is_internal(meta, rule) or any(p["doc_id"] == meta["doc_id"] for p in passages):
                continue
            text = cached.texts[position]
            present = set(tokenize(text))
            coverage = sum(w for t, w in terms.items() if t in present) / total
            best_coverage = max(best_coverage, coverage)
            passage = Passage(
                doc_id=meta["doc_id"],
                title=meta["title"],
                source=meta["source"],
                text=text,
                score=round(score, 4),
                dense=0.0,
            )
            url = self.settings.article_url(tenant_id, meta)
            if url:
                passage["url"] = url
            passages.append(passage)
            if len(passages) >= k:
                break
        return SearchResult(query, passages, round(best_coverage, 4), LEXICAL_COVERAGE, terms)

    async def _dense(
        self,
        tenant_id: str,
        lexical: _LexicalCache,
        vector: list[float],
        n: int,
        focus: list[float] | None = None,
    ) -> list[tuple[str, str, dict[str, Any], float]]:
        """The ``n`` chunks nearest ``vector`` as (id, text, metadata, cosine), best first.

        Exact search over the chunk vectors already in memory (one matrix-vector product,
        no round trip); Chroma answers when they are not loaded. With ``focus`` (the
        message's asking sentences, ``focus.asking_part``) chunks are ranked by their
        cosine to both summed; the cosine reported, which abstention reads, stays the
        message's.
        """
        n = min(n, max(1, len(lexical.chunk_ids)))
        if lexical.vectors is not None and len(lexical.vectors):
            import numpy as np

            def exact() -> list[tuple[str, str, dict[str, Any], float]]:
                with one_blas_thread():
                    scores = lexical.vectors @ np.asarray(vector, dtype=np.float32)
                    rank = scores
                    if focus is not None:
                        rank = scores + lexical.vectors @ np.asarray(focus, dtype=np.float32)
                top = np.argpartition(-rank, n - 1)[:n] if n < len(rank) else None
                order = top[np.argsort(-rank[top])] if top is not None else np.argsort(-rank)
                return [
                    (lexical.chunk_ids[i], lexical.texts[i], lexical.metas[i], float(scores[i]))
                    for i in order.tolist()
                ]

            if len(lexical.chunk_ids) <= _INLINE_DENSE_CHUNKS:
                return exact()  # well under a millisecond: not worth a thread hop
            return await self.executor.run(exact)
        raw = await self.chroma.query(
            tenant_id, [vector], n_results=n, include=["documents", "metadatas", "distances"]
        )
        return [
            (cid, text, meta, 1.0 - dist)
            for cid, text, meta, dist in zip(
                raw["ids"][0],
                raw["documents"][0],
                raw["metadatas"][0],
                raw["distances"][0],
                strict=True,
            )
        ]

    async def _cosines(
        self, tenant_id: str, chunk_ids: list[str], vector: list[float]
    ) -> dict[str, float]:
        """Cosine of each chunk to the query.

        A chunk re-ingested away since the BM25 build (by another process) is missing.
        """
        got = await self.chroma.get(tenant_id, chunk_ids, include=["embeddings"])
        return {
            cid: float(sum(a * b for a, b in zip(embedding, vector, strict=True)))
            for cid, embedding in zip(got["ids"], got["embeddings"], strict=True)
        }

    async def lexical_index(self, tenant_id: str, version: int) -> _LexicalCache:
        """The tenant's BM25 index for ``version``, built once (concurrent callers share it)."""
        cached = self._lexical.get(tenant_id)
        if cached is not None and cached.version == version:
            return cached
        lock = self._locks.setdefault(tenant_id, asyncio.Lock())
        async with lock:
            cached = self._lexical.get(tenant_id)
            if cached is not None and cached.version == version:
                return cached
            # Shielded: a search that times out must not throw away a half-finished build.
            return await asyncio.shield(self._build_lexical(tenant_id, version))

    async def _build_lexical(self, tenant_id: str, version: int) -> _LexicalCache:
        data = await self.chroma.get_all(
            tenant_id, include=["documents", "metadatas", "embeddings"]
        )

        def build() -> _LexicalCache:
            import numpy as np

            return _LexicalCache(
                version,
                LexicalIndex(data["documents"]),
                data["ids"],
                data["metadatas"],
                data["documents"],
                np.asarray(data["embeddings"], dtype=np.float32),
                {cid: i for i, cid in enumerate(data["ids"])},
                frozenset(t for m in data["metadatas"] for t in tokenize(str(m.get("title", "")))),
            )

        built = await self.executor.run(build)
        self._lexical[tenant_id] = built
        return built


def _local_cosines(
    lexical: _LexicalCache, chunk_ids: list[str], vector: list[float]
) -> dict[str, float]:
    """Cosines from the embeddings kept with the BM25 index (no Chroma call)."""
    if lexical.vectors is None or not len(lexical.vectors):
        return {}
    import numpy as np

    query = np.asarray(vector, dtype=np.float32)
    return {
        cid: float(lexical.vectors[lexical.positions[cid]] @ query)
        for cid in chunk_ids
        if cid in lexical.positions
    }
