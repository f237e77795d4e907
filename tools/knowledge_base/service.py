"""The knowledge base: incremental ingestion and hybrid search, scoped by tenant.

Chunks live in Chroma (embedded ``PersistentClient`` by default, a server when
``SUPPORT_CHROMA_URL`` is set) through langchain-chroma, always with our own
embedding function (Chroma's default one downloads a model). A manifest of
content hashes in the application database makes re-ingestion incremental.
Each tenant has its own collection, manifest rows and calibration. All
blocking work (loading, chunking, embedding, Chroma calls) runs in the
executor, never on the event loop.

Search fuses dense and BM25 rankings (see ``tools.knowledge_base.fusion``) and reports the
nearest-neighbour cosine with the abstention threshold calibrated for this
collection from off-topic probe questions, because a fixed threshold does not
transfer between knowledge bases.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import math
import os
import re
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from state import KbCollection, KbDocument, Passage, Settings
from tools.embeddings.sentence import QueryBatcher, SentenceEmbeddings
from tools.knowledge_base._probes import OFF_TOPIC_PROBES
from tools.knowledge_base.chunking import Chunk, chunk_markdown
from tools.knowledge_base.fusion import bm25_weight, weighted_rrf
from tools.knowledge_base.lexical import LexicalIndex, tokenize
from tools.knowledge_base.loaders import LoadFailure, SourceDocument, iter_documents
from tools.resilience.executor import BlockingExecutor
from tools.resilience.lazy import LazyResource

__all__ = ["IngestReport", "KnowledgeBase", "SearchResult"]

ProgressFn = Callable[[int, int], None]
"""Called with (chunks embedded so far, chunks to embed)."""

_FALLBACK_THRESHOLD = 0.35
_CALIBRATION_VERSION = 2
_PROBE_MARGIN = 0.15
"""Above the probes' 90th percentile: real off-topic questions sit nearer the domain than
the probes (CLINC150 out-of-scope vs the tau2 KB: median .225 against the probes' .15)."""
_MAX_THRESHOLD = 0.5
"""Cap for general-purpose collections, where the probes themselves are in scope."""
_LEXICAL_COVERAGE = 0.5
"""Share of the query's IDF mass a chunk must contain to answer from BM25 alone."""
_CHUNKER_VERSION = "md-v1"
_CHUNKS_PER_PASSAGE = 2
"""A passage shows a document's two best chunks: the answer is often in the second."""
_STATE_TTL_S = 1.0
"""How long search trusts the collection version it read: an ingest in this process is
seen at once, one in another process within this time (one database read saved per turn)."""


@dataclass
class IngestReport:
    """What an ingestion did, per document."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    chunks_embedded: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": len(self.unchanged),
            "removed": self.removed,
            "failed": [{"source": s, "reason": r} for s, r in self.failed],
            "chunks_embedded": self.chunks_embedded,
            "seconds": round(self.seconds, 3),
        }


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

    @property
    def confidence(self) -> float:
        """0..1: how far the best match is above the threshold (0 at or below it)."""
        span = max(1e-6, 1.0 - self.threshold)
        return round(min(1.0, max(0.0, (self.top_score - self.threshold) / span * 2)), 4)


@dataclass
class _Hit:
    chunk_id: str
    doc_id: str
    title: str
    source: str
    text: str
    chunk: int
    heading: str
    cosine: float | None = None

    @classmethod
    def of(cls, chunk_id: str, meta: dict[str, Any], text: str, cosine: float | None) -> _Hit:
        return cls(
            chunk_id,
            meta["doc_id"],
            meta["title"],
            meta["source"],
            text,
            int(meta.get("chunk", 0)),
            str(meta.get("heading", "")),
            cosine,
        )


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


def collection_name(tenant_id: str) -> str:
    """A Chroma-safe, collision-free collection name for a tenant."""
    slug = re.sub(r"[^a-z0-9]+", "-", tenant_id.lower()).strip("-")[:40] or "t"
    digest = hashlib.sha256(tenant_id.encode()).hexdigest()[:10]
    return f"kb-{slug}-{digest}"


class KnowledgeBase:
    """Ingest and search one store of knowledge-base collections (one per tenant)."""

    def __init__(
        self,
        settings: Settings,
        embeddings: SentenceEmbeddings,
        executor: BlockingExecutor,
        sessions: async_sessionmaker[AsyncSession],
    ) -> None:
        self.settings = settings
        self.embeddings = embeddings
        self.executor = executor
        self.sessions = sessions
        self._client: Any = None
        self._stores: dict[str, LazyResource[Any]] = {}
        self._lexical: dict[str, _LexicalCache] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._states: dict[str, tuple[float, int, dict[str, Any]]] = {}
        self.queries = QueryBatcher(embeddings, executor, enabled=settings.embedding_batching)

    # -- Chroma -----------------------------------------------------------------------------

    def _chroma_client(self) -> Any:
        if self._client is None:
            import chromadb
            from chromadb.config import Settings as ChromaSettings

            chroma_settings = ChromaSettings(anonymized_telemetry=False)
            if self.settings.chroma_url:
                from urllib.parse import urlparse

                url = urlparse(self.settings.chroma_url)
                self._client = chromadb.HttpClient(
                    host=url.hostname or "localhost",
                    port=url.port or (443 if url.scheme == "https" else 8000),
                    ssl=url.scheme == "https",
                    settings=chroma_settings,
                )
            else:
                path = self.settings.chroma_path
                path.mkdir(parents=True, exist_ok=True)
                self._client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
        return self._client

    def _open_store(self, tenant_id: str) -> Any:
        from langchain_chroma import Chroma

        return Chroma(
            collection_name=collection_name(tenant_id),
            embedding_function=self.embeddings,
            client=self._chroma_client(),
            collection_metadata={"hnsw:space": "cosine", "tenant_id": tenant_id},
        )

    async def _store(self, tenant_id: str) -> Any:
        """The tenant's Chroma collection, opened once (lock-protected, retried on failure)."""
        lazy = self._stores.get(tenant_id)
        if lazy is None:
            lazy = LazyResource(
                f"knowledge base store ({tenant_id})",
                lambda: self.executor.run(self._open_store, tenant_id),
            )
            self._stores[tenant_id] = lazy
        return await lazy.get()

    def _lock(self, tenant_id: str) -> asyncio.Lock:
        return self._locks.setdefault(tenant_id, asyncio.Lock())

    # -- ingestion --------------------------------------------------------------------------

    async def ingest(
        self, paths: Sequence[Path], tenant_id: str, progress: ProgressFn | None = None
    ) -> IngestReport:
        """Bring the tenant's collection in line with ``paths``: add, update, skip, remove."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        report = IngestReport()
        async with self._lock(tenant_id):
            store = await self._store(tenant_id)
            loaded = await self.executor.run(_load_all, list(paths))
            docs, roots_ok = self._dedupe(loaded, report)
            async with self.sessions() as session:
                known = {
                    row.doc_id: row
                    for row in (
                        await session.scalars(
                            select(KbDocument).where(KbDocument.tenant_id == tenant_id)
                        )
                    ).all()
                }
            todo: list[SourceDocument] = []
            # Same id from another folder that still exists: a clash, not an update.
            other_roots = {
                known[d.doc_id].root
                for d in docs
                if d.doc_id in known and known[d.doc_id].root != d.root
            }
            existing_roots = {r for r in other_roots if await self.executor.run(os.path.exists, r)}
            for doc in docs:
                row = known.get(doc.doc_id)
                if row is not None and row.root != doc.root and row.root in existing_roots:
                    report.failed.append(
                        (doc.source, f"id {doc.doc_id!r} is already ingested from {row.root}")
                    )
                    continue
                if row is not None and row.content_hash == self._doc_hash(doc):
                    report.unchanged.append(doc.doc_id)
                else:
                    todo.append(doc)
                    (report.updated if row else report.added).append(doc.doc_id)
            # A source that failed to load keeps its documents: it is broken, not gone.
            failed_files = {_file_of(source) for source, _ in report.failed}
            present = {d.doc_id for d in docs}
            removed = [
                row.doc_id
                for row in known.values()
                if row.root in roots_ok
                and row.doc_id not in present
                and _file_of(row.source) not in failed_files
            ]
            chunked = await self.executor.run(self._chunk_all, todo)
            total = sum(len(c) for _, c in chunked)
            if progress:
                progress(0, total)
            async for done in self._write_chunks(store, chunked, set(known)):
                report.chunks_embedded = done
                if progress:
                    progress(done, total)
            if removed:
                await self.executor.run(store.delete, where={"doc_id": {"$in": removed}})
                report.removed = removed
            await self._save_manifest(tenant_id, chunked, removed)
            self._states.pop(tenant_id, None)
            _, calibration = await self.collection_state(tenant_id)
            if todo or removed or calibration.get("version") != _CALIBRATION_VERSION:
                await self._recalibrate(tenant_id)
        report.seconds = loop.time() - started
        return report

    def _doc_hash(self, doc: SourceDocument) -> str:
        tag = f"{doc.content_hash}|{_CHUNKER_VERSION}|{self.settings.chunk_tokens}|"
        tag += f"{self.settings.chunk_overlap_tokens}|{self.embeddings.model_path.name}"
        return hashlib.sha256(tag.encode()).hexdigest()

    def _dedupe(
        self,
        loaded: list[tuple[str, bool, list[SourceDocument | LoadFailure]]],
        report: IngestReport,
    ) -> tuple[list[SourceDocument], set[str]]:
        docs: dict[str, SourceDocument] = {}
        roots_ok: set[str] = set()
        for root, exists, items in loaded:
            if items and all(isinstance(i, LoadFailure) for i in items) and not exists:
                report.failed.extend(
                    (i.source, i.reason) for i in items if isinstance(i, LoadFailure)
                )
                continue
            roots_ok.add(root)
            for item in items:
                if isinstance(item, LoadFailure):
                    report.failed.append((item.source, item.reason))
                elif item.doc_id in docs:
                    report.failed.append(
                        (
                            item.source,
                            f"duplicate id {item.doc_id!r} (first: {docs[item.doc_id].source})",
                        )
                    )
                else:
                    docs[item.doc_id] = item
        return list(docs.values()), roots_ok

    def _chunk_all(self, docs: list[SourceDocument]) -> list[tuple[SourceDocument, list[Chunk]]]:
        return [
            (
                doc,
                chunk_markdown(
                    doc.content,
                    doc.title,
                    max_tokens=min(self.settings.chunk_tokens, self.embeddings.max_tokens - 4),
                    overlap_tokens=self.settings.chunk_overlap_tokens,
                    count_tokens=self.embeddings.count_tokens,
                ),
            )
            for doc in docs
        ]

    async def _write_chunks(
        self,
        store: Any,
        chunked: list[tuple[SourceDocument, list[Chunk]]],
        known: set[str],
    ) -> AsyncIterator[int]:
        """Embed and add chunks in full batches across documents, then drop replaced versions.

        New chunks are written before old ones are deleted, so a crash never loses a
        document. Yields the number of chunks written so far.
        """
        ids: list[str] = []
        texts: list[str] = []
        metas: list[dict[str, Any]] = []
        replaced: list[tuple[str, str]] = []
        for doc, chunks in chunked:
            version = self._doc_hash(doc)[:12]
            if doc.doc_id in known:
                replaced.append((doc.doc_id, version))
            extra = {
                k: v for k, v in doc.metadata.items() if isinstance(v, str | int | float | bool)
            }
            for c in chunks:
                ids.append(f"{doc.doc_id}::{version}::{c.index}")
                texts.append(c.text)
                metas.append(
                    {
                        **extra,
                        "doc_id": doc.doc_id,
                        "title": doc.title,
                        "source": doc.source,
                        "heading": c.heading,
                        "chunk": c.index,
                        "version": version,
                    }
                )
        # Longest first, so each model batch holds texts of similar length (less padding),
        # and the next batch is embedded while the previous one is written to Chroma.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        ids, texts, metas = (
            [ids[i] for i in order],
            [texts[i] for i in order],
            [metas[i] for i in order],
        )
        batch = max(1, self.settings.embedding_batch_size * 4)
        writing: asyncio.Future[Any] | None = None
        try:
            for start in range(0, len(texts), batch):
                end = min(start + batch, len(texts))
                vectors = await self.executor.run(self.embeddings.embed_documents, texts[start:end])
                if writing is not None:
                    await writing
                    yield start
                writing = asyncio.ensure_future(
                    self.executor.run(
                        store._collection.upsert,
                        ids=ids[start:end],
                        embeddings=vectors,
                        metadatas=metas[start:end],
                        documents=texts[start:end],
                    )
                )
            if writing is not None:
                await writing
                writing = None
                yield len(texts)
        finally:
            if writing is not None and not writing.done():  # embedding failed mid-way
                with contextlib.suppress(Exception):
                    await writing
        for doc_id, version in replaced:
            await self.executor.run(
                store.delete,
                where={"$and": [{"doc_id": doc_id}, {"version": {"$ne": version}}]},
            )

    async def _save_manifest(
        self,
        tenant_id: str,
        chunked: list[tuple[SourceDocument, list[Chunk]]],
        removed: list[str],
    ) -> None:
        async with self.sessions() as session, session.begin():
            for doc, chunks in chunked:
                await session.merge(
                    KbDocument(
                        tenant_id=tenant_id,
                        doc_id=doc.doc_id,
                        title=doc.title,
                        source=doc.source,
                        root=doc.root,
                        content_hash=self._doc_hash(doc),
                        chunk_count=len(chunks),
                        updated_at=datetime.now(UTC),
                    )
                )
            if removed:
                await session.execute(
                    delete(KbDocument).where(
                        KbDocument.tenant_id == tenant_id, KbDocument.doc_id.in_(removed)
                    )
                )
            collection = await session.get(KbCollection, tenant_id)
            if collection is None:
                session.add(KbCollection(tenant_id=tenant_id, version=1, calibration={}))
            elif chunked or removed:
                collection.version += 1

    async def _recalibrate(self, tenant_id: str) -> None:
        """Set the abstention threshold from how high off-topic probes score on this collection."""
        store = await self._store(tenant_id)
        count = await self.executor.run(lambda: store._collection.count())
        calibration: dict[str, Any] = {
            "version": _CALIBRATION_VERSION,
            "probes": len(OFF_TOPIC_PROBES),
            "chunks": count,
        }
        if count:
            vectors = await self.executor.run(self.embeddings.embed_queries, OFF_TOPIC_PROBES)
            result = await self.executor.run(
                lambda: store._collection.query(
                    query_embeddings=vectors, n_results=1, include=["distances"]
                )
            )
            scores = sorted(1.0 - d[0] for d in result["distances"] if d)
            q90 = scores[int(0.9 * (len(scores) - 1))]
            calibration.update(
                {
                    "offtopic_median": round(scores[len(scores) // 2], 4),
                    "offtopic_q90": round(q90, 4),
                    "offtopic_max": round(scores[-1], 4),
                    "threshold": round(min(_MAX_THRESHOLD, q90 + _PROBE_MARGIN), 4),
                }
            )
        async with self.sessions() as session, session.begin():
            collection = await session.get(KbCollection, tenant_id)
            if collection is None:
                session.add(KbCollection(tenant_id=tenant_id, version=1, calibration=calibration))
            else:
                collection.calibration = calibration
        self._states.pop(tenant_id, None)

    # -- search -----------------------------------------------------------------------------

    async def warm_up(self, tenant_id: str) -> None:
        """Load the model, open the store, build the BM25 index: outside any search timeout.

        Failures are left for the (resilient) search to report.
        """
        lazy = self._stores.get(tenant_id)
        if self.embeddings.loaded and tenant_id in self._lexical and lazy and lazy.ready:
            return  # warm already; search itself checks the collection's version
        with contextlib.suppress(Exception):
            if not self.embeddings.loaded:  # once per process, not on every turn
                await self.executor.run(lambda: self.embeddings.model)
            store = await self._store(tenant_id)
            version, _ = await self.collection_state(tenant_id)
            if version:
                await self._lexical_index(tenant_id, store, version)

    async def collection_state(self, tenant_id: str) -> tuple[int, dict[str, Any]]:
        """(version, calibration) of the tenant's collection; (0, {}) if never ingested."""
        async with self.sessions() as session:
            row = await session.get(KbCollection, tenant_id)
            return (row.version, dict(row.calibration or {})) if row else (0, {})

    async def _search_state(self, tenant_id: str) -> tuple[int, dict[str, Any]]:
        """``collection_state``, trusted for ``_STATE_TTL_S`` (ingests here invalidate it)."""
        now = asyncio.get_running_loop().time()
        cached = self._states.get(tenant_id)
        if cached is not None and cached[0] > now:
            return cached[1], cached[2]
        version, calibration = await self.collection_state(tenant_id)
        if version:
            self._states[tenant_id] = (now + _STATE_TTL_S, version, calibration)
        return version, calibration

    async def search(
        self,
        query: str,
        tenant_id: str,
        k: int | None = None,
        *,
        mode: str | None = None,
        threshold: float | None = None,
    ) -> SearchResult:
        """The ``k`` best documents for ``query``, each shown by its best two chunks."""
        k = k or self.settings.retrieval_k
        mode = mode or self.settings.fusion
        version, calibration = await self._search_state(tenant_id)
        if threshold is None:
            threshold = self.settings.abstain_threshold
        if threshold is None:
            threshold = float(calibration.get("threshold", _FALLBACK_THRESHOLD))
        if version == 0:
            return SearchResult(query, [], 0.0, threshold, {})
        store = await self._store(tenant_id)
        lexical = await self._lexical_index(tenant_id, store, version)
        candidates = self.settings.candidate_k
        vector, bm25_hits = await asyncio.gather(
            self.queries.embed(query),
            self.executor.run(lexical.index.search, query, candidates),
        )
        raw = await self.executor.run(
            lambda: store._collection.query(
                query_embeddings=[vector],
                n_results=min(candidates, max(1, len(lexical.chunk_ids))),
                include=["documents", "metadatas", "distances"],
            )
        )
        hits: dict[str, _Hit] = {}
        dense_ids: list[str] = []
        for cid, text, meta, dist in zip(
            raw["ids"][0],
            raw["documents"][0],
            raw["metadatas"][0],
            raw["distances"][0],
            strict=True,
        ):
            hits[cid] = _Hit.of(cid, meta, text, 1.0 - dist)
            dense_ids.append(cid)
        bm25_ids: list[str] = []
        for position, _score in bm25_hits:
            cid, meta = lexical.chunk_ids[position], lexical.metas[position]
            hits.setdefault(cid, _Hit.of(cid, meta, lexical.texts[position], None))
            bm25_ids.append(cid)
        terms = {t: lexical.index.idf(t) for t in dict.fromkeys(tokenize(query))}
        weights = self._weights(mode, sum(terms.values()))
        fused = weighted_rrf({"dense": dense_ids, "bm25": bm25_ids}, weights)
        by_doc: dict[str, list[tuple[_Hit, float]]] = {}
        for cid, score in fused:
            hit = hits[cid]
            group = by_doc.get(hit.doc_id)
            if group is None and len(by_doc) < k:
                by_doc[hit.doc_id] = [(hit, score)]
            elif group is not None and len(group) < _CHUNKS_PER_PASSAGE:
                group.append((hit, score))
        passages: list[Passage] = []
        # Documents found by BM25 alone: their cosine, in one Chroma call for all of them.
        unscored = [g[0][0].chunk_id for g in by_doc.values() if g[0][0].cosine is None]
        cosines = _local_cosines(lexical, unscored, vector)
        missing = [cid for cid in unscored if cid not in cosines]
        if missing:
            cosines.update(await self._cosines(store, missing, vector))
        for group in by_doc.values():
            best, score = group[0]
            cosine = best.cosine
            if cosine is None:
                cosine = cosines.get(best.chunk_id, 0.0)
            passages.append(
                Passage(
                    doc_id=best.doc_id,
                    title=best.title,
                    source=best.source,
                    text=_passage_text([hit for hit, _ in group]),
                    score=round(score, 6),
                    dense=round(cosine, 4),
                )
            )
        top = max((h.cosine for h in hits.values() if h.cosine is not None), default=0.0)
        return SearchResult(
            query,
            passages,
            round(top, 4),
            threshold,
            terms,
            dense_ranking=_doc_order(dense_ids, hits),
            bm25_ranking=_doc_order(bm25_ids, hits),
        )

    async def search_lexical(
        self, query: str, tenant_id: str, k: int | None = None
    ) -> SearchResult:
        """BM25 alone over the chunks already in memory: the fallback when Chroma is down.

        Needs no vector store and no embedding. Without a cached index (the process has
        not searched this tenant since it started) it returns no passages. ``top_score``
        is the share of the query's IDF mass found in the best chunk, and ``threshold``
        is the share required to answer.
        """
        k = k or self.settings.retrieval_k
        cached = self._lexical.get(tenant_id)
        if cached is None:
            return SearchResult(query, [], 0.0, _LEXICAL_COVERAGE, {})
        # A word the collection never uses counts as the rarest word: it must be covered too.
        unseen = math.log(1 + (cached.index.size + 0.5) / 0.5)
        terms = {t: cached.index.idf(t) or unseen for t in dict.fromkeys(tokenize(query))}
        total = sum(terms.values()) or 1.0
        passages: list[Passage] = []
        best_coverage = 0.0
        for position, score in cached.index.search(query, self.settings.candidate_k):
            meta = cached.metas[position]
            if any(p["doc_id"] == meta["doc_id"] for p in passages):
                continue
            text = cached.texts[position]
            present = set(tokenize(text))
            coverage = sum(w for t, w in terms.items() if t in present) / total
            best_coverage = max(best_coverage, coverage)
            passages.append(
                Passage(
                    doc_id=meta["doc_id"],
                    title=meta["title"],
                    source=meta["source"],
                    text=text,
                    score=round(score, 4),
                    dense=0.0,
                )
            )
            if len(passages) >= k:
                break
        return SearchResult(query, passages, round(best_coverage, 4), _LEXICAL_COVERAGE, terms)

    @staticmethod
    def _weights(mode: str, idf_mass: float) -> dict[str, float]:
        if mode == "dense":
            return {"dense": 1.0, "bm25": 0.0}
        if mode == "bm25":
            return {"dense": 0.0, "bm25": 1.0}
        if mode == "rrf":
            return {"dense": 1.0, "bm25": 1.0}
        if mode == "adaptive":
            return {"dense": 1.0, "bm25": bm25_weight(idf_mass)}
        raise ValueError(f"unknown fusion mode {mode!r}: use adaptive, rrf, dense or bm25")

    async def _cosines(
        self, store: Any, chunk_ids: list[str], vector: list[float]
    ) -> dict[str, float]:
        """Cosine of each chunk to the query.

        A chunk re-ingested away since the BM25 build (by another process) is missing.
        """
        got = await self.executor.run(
            lambda: store._collection.get(ids=chunk_ids, include=["embeddings"])
        )
        return {
            cid: float(sum(a * b for a, b in zip(embedding, vector, strict=True)))
            for cid, embedding in zip(got["ids"], got["embeddings"], strict=True)
        }

    async def _lexical_index(self, tenant_id: str, store: Any, version: int) -> _LexicalCache:
        """The tenant's BM25 index for ``version``, built once (concurrent callers share it)."""
        cached = self._lexical.get(tenant_id)
        if cached is not None and cached.version == version:
            return cached
        async with self._lock(f"lexical:{tenant_id}"):
            cached = self._lexical.get(tenant_id)
            if cached is not None and cached.version == version:
                return cached
            # Shielded: a search that times out must not throw away a half-finished build.
            return await asyncio.shield(self._build_lexical(tenant_id, store, version))

    async def _build_lexical(self, tenant_id: str, store: Any, version: int) -> _LexicalCache:

        def build() -> _LexicalCache:
            import numpy as np

            data = store.get(include=["documents", "metadatas", "embeddings"])
            return _LexicalCache(
                version,
                LexicalIndex(data["documents"]),
                data["ids"],
                data["metadatas"],
                data["documents"],
                np.asarray(data["embeddings"], dtype=np.float32),
                {cid: i for i, cid in enumerate(data["ids"])},
            )

        built = await self.executor.run(build)
        self._lexical[tenant_id] = built
        return built

    # -- stats ------------------------------------------------------------------------------

    async def stats(self, tenant_id: str) -> dict[str, Any]:
        """Documents, chunks, version and calibration of the tenant's collection."""
        version, calibration = await self.collection_state(tenant_id)
        async with self.sessions() as session:
            rows = (
                await session.scalars(select(KbDocument).where(KbDocument.tenant_id == tenant_id))
            ).all()
        chunks = 0
        if version:
            store = await self._store(tenant_id)
            chunks = await self.executor.run(lambda: store._collection.count())
        last = max((r.updated_at for r in rows), default=None)
        return {
            "tenant_id": tenant_id,
            "collection": collection_name(tenant_id),
            "documents": len(rows),
            "chunks": chunks,
            "version": version,
            "last_ingest": last.isoformat() if last else None,
            "calibration": calibration,
            "store": self.settings.chroma_url or str(self.settings.chroma_path),
        }


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


def _passage_text(hits: list[_Hit]) -> str:
    """The document's best chunks in reading order; later ones under their own heading."""
    ordered = sorted(hits, key=lambda h: h.chunk)
    parts = [ordered[0].text]
    for hit in ordered[1:]:
        body = hit.text.split("\n\n", 1)[1] if "\n\n" in hit.text else hit.text
        heading = hit.heading.rsplit(" > ", 1)[-1] if hit.heading else ""
        parts.append(f"## {heading}\n{body}" if heading else body)
    return "\n\n".join(parts)


def _file_of(source: str) -> str:
    """The file part of a source (``records.jsonl#L3`` -> ``records.jsonl``)."""
    return source.split("#", 1)[0]


def _doc_order(chunk_ids: list[str], hits: dict[str, _Hit]) -> list[str]:
    return list(dict.fromkeys(hits[c].doc_id for c in chunk_ids))


def _load_all(paths: list[Path]) -> list[tuple[str, bool, list[SourceDocument | LoadFailure]]]:
    """(root, whether it exists, what it holds) per path; blocking, for the executor."""
    return [
        (str(p.expanduser().resolve()), p.expanduser().exists(), list(iter_documents(p)))
        for p in paths
    ]
