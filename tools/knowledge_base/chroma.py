"""Chroma access for the knowledge base: the only module in the project that touches Chroma.

Exists so one small surface owns the client (embedded ``PersistentClient``, or an
``HttpClient`` when ``SUPPORT_CHROMA_URL`` is set) and each tenant's collection, and
everything else asks it for upserts, deletes, counts, queries and reads by id.

It must never run a Chroma call on the event loop (every call goes through the
``BlockingExecutor``), never let Chroma embed anything (collections are opened with
``embedding_function=None``: Chroma's default one downloads a model), and never hold
knowledge-base logic (chunking, ranking, manifests live elsewhere).

Collections are opened exactly as langchain-chroma 1.x opened them
(``get_or_create_collection(name, embedding_function=None, metadata=...)``), so stores
it created stay readable with identical results.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any

from state import Settings
from tools.resilience.executor import BlockingExecutor
from tools.resilience.lazy import LazyResource

__all__ = ["ChromaCollections", "collection_name"]


def collection_name(tenant_id: str) -> str:
    """A Chroma-safe, collision-free collection name for a tenant."""
    slug = re.sub(r"[^a-z0-9]+", "-", tenant_id.lower()).strip("-")[:40] or "t"
    digest = hashlib.sha256(tenant_id.encode()).hexdigest()[:10]
    return f"kb-{slug}-{digest}"


class ChromaCollections:
    """One Chroma client and one cosine collection per tenant, each opened once."""

    def __init__(self, settings: Settings, executor: BlockingExecutor) -> None:
        self.settings = settings
        self.executor = executor
        self._client: Any = None
        self._collections: dict[str, LazyResource[Any]] = {}

    # -- opening -------------------------------------------------------------------------

    def _chroma_client(self) -> Any:
        """The client, created on first use (blocking: call from the executor)."""
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

    def _open_collection(self, tenant_id: str) -> Any:
        return self._chroma_client().get_or_create_collection(
            name=collection_name(tenant_id),
            embedding_function=None,
            metadata={"hnsw:space": "cosine", "tenant_id": tenant_id},
        )

    async def _collection(self, tenant_id: str) -> Any:
        """The tenant's collection, opened once (lock-protected, retried on failure)."""
        lazy = self._collections.get(tenant_id)
        if lazy is None:
            lazy = LazyResource(
                f"knowledge base store ({tenant_id})",
                lambda: self.executor.run(self._open_collection, tenant_id),
            )
            self._collections[tenant_id] = lazy
        return await lazy.get()

    async def open(self, tenant_id: str) -> None:
        """Open the tenant's collection now (``InitializationError`` if Chroma is down)."""
        await self._collection(tenant_id)

    def is_open(self, tenant_id: str) -> bool:
        """Whether the tenant's collection has been opened in this process."""
        lazy = self._collections.get(tenant_id)
        return bool(lazy and lazy.ready)

    # -- operations ----------------------------------------------------------------------

    async def upsert(
        self,
        tenant_id: str,
        ids: list[str],
        embeddings: Any,
        metadatas: list[dict[str, Any]],
        documents: list[str],
    ) -> None:
        """Write chunks with their precomputed embeddings."""
        collection = await self._collection(tenant_id)
        await self.executor.run(
            collection.upsert,
            ids=ids,
            embeddings=embeddings,
            metadatas=metadatas,
            documents=documents,
        )

    async def delete(self, tenant_id: str, *, where: dict[str, Any]) -> None:
        """Delete the chunks matching a metadata filter."""
        collection = await self._collection(tenant_id)
        await self.executor.run(collection.delete, where=where)

    async def count(self, tenant_id: str) -> int:
        """Number of chunks in the tenant's collection."""
        collection = await self._collection(tenant_id)
        return int(await self.executor.run(collection.count))

    async def query(
        self, tenant_id: str, vectors: Any, n_results: int, include: Sequence[str]
    ) -> dict[str, Any]:
        """Nearest chunks to each query vector (Chroma's result dict, one row per vector)."""
        collection = await self._collection(tenant_id)
        result: dict[str, Any] = await self.executor.run(
            collection.query,
            query_embeddings=vectors,
            n_results=n_results,
            include=list(include),
        )
        return result

    async def get(self, tenant_id: str, ids: list[str], include: Sequence[str]) -> dict[str, Any]:
        """The chunks with these ids (missing ones are left out)."""
        collection = await self._collection(tenant_id)
        result: dict[str, Any] = await self.executor.run(
            collection.get, ids=ids, include=list(include)
        )
        return result

    async def get_all(
        self, tenant_id: str, include: Sequence[str], limit: int | None = None
    ) -> dict[str, Any]:
        """Every chunk of the tenant's collection (or the first ``limit``)."""
        collection = await self._collection(tenant_id)
        result: dict[str, Any] = await self.executor.run(
            collection.get, limit=limit, include=list(include)
        )
        return result

    def query_blocking(
        self, tenant_id: str, vectors: Any, n_results: int, include: Sequence[str]
    ) -> dict[str, Any]:
        """``query`` on the calling thread, for the benchmarks' floor (no executor hop).

        The collection must already be open (a search opens it).
        """
        lazy = self._collections.get(tenant_id)
        if lazy is None:
            raise RuntimeError(f"the collection of {tenant_id!r} is not open")
        result: dict[str, Any] = lazy.value.query(
            query_embeddings=vectors, n_results=n_results, include=list(include)
        )
        return result
