"""The knowledge base: incremental ingestion and hybrid search, scoped by tenant.

Exists as the one object callers hold (``KnowledgeBase``): it composes the modules that
each do one job and keeps ingest and calibration of a tenant in one critical section.

- ``chroma``: the only module that touches Chroma (one collection per tenant);
- ``manifest``: content hashes, collection version and calibration in the database;
- ``ingest``: load, dedupe, chunk, embed and write what changed;
- ``calibration``: the abstention threshold from off-topic probes;
- ``search``: dense + BM25 fusion, the BM25-only fallback, the BM25 index cache.

It must never grow logic of its own beyond wiring and locking, and never run blocking
work on the event loop (everything blocking runs in the executor).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from state import Settings
from tools.embeddings.sentence import QueryBatcher, SentenceEmbeddings
from tools.knowledge_base.calibration import CALIBRATION_VERSION, calibrate
from tools.knowledge_base.chroma import ChromaCollections, collection_name
from tools.knowledge_base.ingest import Ingester, IngestReport, ProgressFn
from tools.knowledge_base.manifest import Manifest
from tools.knowledge_base.search import HybridSearch, SearchResult, fusion_weights
from tools.resilience.executor import BlockingExecutor

__all__ = ["IngestReport", "KnowledgeBase", "SearchResult", "collection_name"]


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
        self.queries = QueryBatcher(embeddings, executor, enabled=settings.embedding_batching)
        self.chroma = ChromaCollections(settings, executor)
        """The tenant collections in Chroma (the only code that touches Chroma)."""
        self._manifest = Manifest(sessions)
        self._ingester = Ingester(settings, embeddings, executor, self.chroma, self._manifest)
        self._search = HybridSearch(settings, self.queries, executor, self.chroma, self._manifest)
        self._locks: dict[str, asyncio.Lock] = {}

    fusion_weights = staticmethod(fusion_weights)
    """Weights of the dense and BM25 rankings for a fusion mode (for offline replays)."""

    async def ingest(
        self, paths: Sequence[Path], tenant_id: str, progress: ProgressFn | None = None
    ) -> IngestReport:
        """Bring the tenant's collection in line with ``paths``: add, update, skip, remove."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        async with self._locks.setdefault(tenant_id, asyncio.Lock()):
            report = await self._ingester.ingest(paths, tenant_id, progress)
            self._search.forget_state(tenant_id)
            _, calibration = await self.collection_state(tenant_id)
            changed = report.added or report.updated or report.removed
            if changed or calibration.get("version") != CALIBRATION_VERSION:
                await self._recalibrate(tenant_id)
        report.seconds = loop.time() - started
        return report

    async def _recalibrate(self, tenant_id: str) -> None:
        """Set the abstention threshold from how high off-topic probes score on this collection."""
        calibration = await calibrate(self.chroma, self.embeddings, self.executor, tenant_id)
        await self._manifest.save_calibration(tenant_id, calibration)
        self._search.forget_state(tenant_id)

    async def warm_up(self, tenant_id: str) -> None:
        """Load the model, open the store, build the BM25 index: outside any search timeout.

        Failures are left for the (resilient) search to report.
        """
        ready = self.chroma.is_open(tenant_id)
        if self.embeddings.loaded and self._search.is_indexed(tenant_id) and ready:
            return  # warm already; search itself checks the collection's version
        with contextlib.suppress(Exception):
            if not self.embeddings.loaded:  # once per process, not on every turn
                await self.executor.run(lambda: self.embeddings.model)
            await self.chroma.open(tenant_id)
            version, _ = await self.collection_state(tenant_id)
            if version:
                await self._search.lexical_index(tenant_id, version)

    async def collection_state(self, tenant_id: str) -> tuple[int, dict[str, Any]]:
        """(version, calibration) of the tenant's collection; (0, {}) if never ingested."""
        return await self._manifest.collection_state(tenant_id)

    async def search(
        self,
        query: str,
        tenant_id: str,
        k: int | None = None,
        *,
        mode: str | None = None,
        threshold: float | None = None,
        also_embed: Sequence[str] = (),
    ) -> SearchResult:
        """The ``k`` best documents for ``query``, each shown by its best chunks.

        ``also_embed``: texts to embed in the same model call as the query (their vectors
        are then in the query cache), so a caller's next embedding costs no second call.
        """
        k = k or self.settings.retrieval_k
        mode = mode or self.settings.fusion
        return await self._search.search(query, tenant_id, k, mode, threshold, also_embed)

    def rarity(self, tenant_id: str) -> Callable[[str], float] | None:
        """0..1 rarity of a stemmed term in the tenant's chunks (what names a subject).

        None until this process has built the tenant's BM25 index (``warm_up`` does).
        """
        return self._search.rarity(tenant_id)

    async def search_lexical(
        self, query: str, tenant_id: str, k: int | None = None
    ) -> SearchResult:
        """BM25 alone over the chunks already in memory: the fallback when Chroma is down.

        Needs no vector store and no embedding. Without a cached index (the process has
        not searched this tenant since it started) it returns no passages. ``top_score``
        is the share of the query's IDF mass found in the best chunk, and ``threshold``
        is the share required to answer.
        """
        return self._search.search_lexical(query, tenant_id, k or self.settings.retrieval_k)

    async def stored_chunks(
        self, tenant_id: str, include: Sequence[str], limit: int | None = None
    ) -> dict[str, Any]:
        """The tenant's chunks as Chroma stores them (ids plus ``include``), for benchmarks."""
        return await self.chroma.get_all(tenant_id, include, limit)

    async def stats(self, tenant_id: str) -> dict[str, Any]:
        """Documents, chunks, version and calibration of the tenant's collection."""
        version, calibration = await self.collection_state(tenant_id)
        rows = await self._manifest.documents(tenant_id)
        chunks = await self.chroma.count(tenant_id) if version else 0
        recorded = sum(r.chunk_count for r in rows)
        last = max((r.updated_at for r in rows), default=None)
        return {
            "tenant_id": tenant_id,
            "collection": collection_name(tenant_id),
            "documents": len(rows),
            "chunks": chunks,
            "chunks_recorded": recorded,
            "missing_chunks": max(0, recorded - chunks),
            "version": version,
            "last_ingest": last.isoformat() if last else None,
            "calibration": calibration,
            "store": self.settings.chroma_url or str(self.settings.chroma_path),
        }
