"""The long-lived dependencies every turn needs, built once per process.

``Services`` owns the executor, the embedding model, the database engine and
the knowledge base, and closes them in order. ``LazyServices`` builds them on
first use, once, under a lock, with the blocking parts (reading ``.env``,
creating folders, loading the model) off the event loop; a failed start is
reported and retried on the next call rather than cached.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from state import Settings, create_engine, get_settings, init_db, session_factory
from tools.embeddings import SentenceEmbeddings
from tools.executor import BlockingExecutor
from tools.knowledge_base import KnowledgeBase

__all__ = ["LazyServices", "Services", "create_services"]


@dataclass
class Services:
    """Process-wide dependencies, shared by all conversations."""

    settings: Settings
    executor: BlockingExecutor
    embeddings: SentenceEmbeddings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    kb: KnowledgeBase
    model: Any = None
    """The chat model (``BaseChatModel``) or None in LLM-free mode; set by the graph layer."""

    async def aclose(self, timeout: float = 10.0) -> None:
        """Release the database and wait (bounded) for blocking work to finish."""
        await self.engine.dispose()
        await self.executor.shutdown(timeout)


async def create_services(
    settings: Settings | None = None, *, embeddings: SentenceEmbeddings | None = None
) -> Services:
    """Build and start the services for ``settings`` (default: from the environment).

    ``embeddings`` lets several service sets share one loaded model (tests, benchmarks).
    """
    if settings is None:
        settings = await asyncio.to_thread(get_settings)
    await asyncio.to_thread(settings.data_dir.mkdir, parents=True, exist_ok=True)
    executor = BlockingExecutor(settings.executor_workers)
    embeddings = embeddings or SentenceEmbeddings(
        settings.embedding_model_path, settings.embedding_batch_size, settings.query_cache_size
    )
    engine = create_engine(settings.sqlalchemy_url)
    try:
        await init_db(engine)
    except Exception:
        await engine.dispose()
        await executor.shutdown(1)
        raise
    sessions = session_factory(engine)
    kb = KnowledgeBase(settings, embeddings, executor, sessions)
    return Services(settings, executor, embeddings, engine, sessions, kb)


class LazyServices:
    """Builds ``Services`` on first ``get()``; concurrent first calls share one build."""

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings
        self._services: Services | None = None
        self._lock: asyncio.Lock | None = None

    async def get(self) -> Services:
        """The started services (building them now if needed)."""
        if self._services is not None:
            return self._services
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._services is None:
                self._services = await create_services(self._settings)
        return self._services

    def set(self, services: Services) -> None:
        """Use already-built services (the embedded runner and tests do)."""
        self._services = services
