"""The long-lived dependencies every turn needs, built once per process.

``Services`` owns the executor, the embedding model, the database engine, the
knowledge base, attachments and the resilience layer (breakers), and closes them in order.
``LazyServices`` builds them on first use, once, under a lock, with the
blocking parts (reading ``.env``, creating folders) off the event loop; a
failed start raises ``InitializationError`` and is retried on a later call
rather than cached.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from state import Settings, create_engine, get_settings, init_db, session_factory
from tools.attachments.store import AttachmentStore
from tools.embeddings.sentence import SentenceEmbeddings
from tools.escalation.tickets import TicketStore
from tools.identity import ThreadOwnership
from tools.knowledge_base.service import KnowledgeBase
from tools.memory.store import MemoryStore
from tools.resilience.breakers import BreakerRegistry
from tools.resilience.executor import BlockingExecutor
from tools.resilience.layer import Resilience
from tools.resilience.lazy import LazyResource
from tools.telemetry import configure_telemetry

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
    resilience: Resilience
    memory: MemoryStore
    tickets: TicketStore
    attachments: AttachmentStore
    owners: ThreadOwnership
    model: Any = None
    """A chat model to use instead of the configured one (tests inject scripted models)."""

    async def aclose(self, timeout: float = 10.0) -> None:
        """Release the database and breakers, and wait (bounded) for blocking work."""
        await self.attachments.aclose()
        await self.resilience.breakers.aclose()
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
    configure_telemetry()  # exporters from the OTEL_* variables; a no-op without them
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
    breakers = BreakerRegistry(
        settings.redis_url.get_secret_value() if settings.redis_url else None,
        settings.breaker_sync_interval_s,
    )
    resilience = Resilience(settings.policies, breakers)
    memory = MemoryStore(settings, sessions, embeddings, executor, kb.queries)
    tickets = TicketStore(settings, sessions, resilience)
    attachments = AttachmentStore(
        settings, sessions, embeddings, executor, memory.crypto, kb.queries
    )
    return Services(
        settings,
        executor,
        embeddings,
        engine,
        sessions,
        kb,
        resilience,
        memory,
        tickets,
        attachments,
        ThreadOwnership(sessions),
    )


class LazyServices(LazyResource[Services]):
    """``Services`` built on first ``get()``; concurrent first calls share one build."""

    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__("services", lambda: create_services(settings))
        self._settings = settings

    @property
    def settings(self) -> Settings:
        """The settings the services have or will have (the environment's unless given)."""
        if self.ready:
            return self.value.settings
        return self._settings or get_settings()
