"""Long-term memory: write, read, expire, forget; scoped by (tenant, user) on every query.

Reads rank by relevance x importance x recency decay.

Writes deduplicate, merge and supersede (``writes``: "likes apples" and "prefers apples"
merge; a new plan archives the old one, history kept). Slot values (plan, product,
order, ...) are compared exactly, because different values embed close.

Recall reads through ``RecallCache`` (``recall_cache``); content is encrypted at rest
when keys are set (``encryption``). Embeddings stay in clear: similarity search needs
them (they are still derived from the text: treat the database as personal data).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from state import Memory, Settings
from tools.embeddings.sentence import QueryBatcher, SentenceEmbeddings
from tools.memory.encryption import MemoryCrypto
from tools.memory.maintenance import prune_memories, rotate_memory_keys
from tools.memory.recall_cache import RecallCache, UserMemories, aware, rank
from tools.memory.rules import MemoryCandidate
from tools.memory.writes import MemoryWriter, WriteResult, cleaned
from tools.resilience.executor import BlockingExecutor

__all__ = ["MemoryStore", "RecalledMemory", "WriteResult"]


def _now() -> datetime:
    return datetime.now(UTC)


_INLINE_RANK = 2000
"""Up to this many memories are ranked on the event loop (microseconds); more go to the
executor."""


@dataclass(frozen=True)
class RecalledMemory:
    """A memory selected for a turn."""

    id: int
    kind: str
    slot: str | None
    content: str
    score: float
    created_at: datetime


class MemoryStore:
    """Memories of every (tenant, user) in the application database."""

    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        embeddings: SentenceEmbeddings,
        executor: BlockingExecutor,
        queries: QueryBatcher | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.embeddings = embeddings
        self.executor = executor
        key = settings.memory_encryption_key
        self.crypto = MemoryCrypto(key.get_secret_value() if key else None)
        # The knowledge base's batcher: a recall by the query the search is embedding
        # at the same moment waits for that embedding instead of computing it again.
        self.queries = queries or QueryBatcher(
            embeddings, executor, enabled=settings.embedding_batching
        )
        self._writer = MemoryWriter(settings, sessions, self.crypto)
        self._cache = RecallCache(settings.memory_cache_max_memories)
        self.cache_loads = 0
        """Times a user's memories were read from the database for recall (tests, bench)."""

    async def _embed(self, texts: list[str]) -> np.ndarray:
        return np.asarray(await self.queries.embed_together(texts), dtype=np.float32)

    def invalidate(self, tenant_id: str | None = None, user_id: str | None = None) -> None:
        """Drop cached memories: of one (tenant, user), or of everyone."""
        if tenant_id is None or user_id is None:
            self._cache.invalidate()
        else:
            self._cache.invalidate((tenant_id, user_id))

    @staticmethod
    def _owner_filter(tenant_id: str, user_id: str) -> tuple[Any, ...]:
        return (
            Memory.tenant_id == tenant_id,
            Memory.user_id == user_id,
            Memory.archived_at.is_(None),
        )

    async def _user_memories(
        self, session: AsyncSession, tenant_id: str, user_id: str, width: int
    ) -> UserMemories:
        """The user's live memories: from the cache if the database fingerprint matches."""
        owner = (tenant_id, user_id)
        where = self._owner_filter(tenant_id, user_id)
        fingerprint: tuple[Any, ...] = ()
        if self.settings.memory_cache_max_memories:
            # Read before the rows: a write in between makes the next recall reload.
            fingerprint = tuple(
                (
                    await session.execute(
                        select(
                            func.count(Memory.id),
                            func.max(Memory.id),
                            func.coalesce(func.sum(Memory.access_count), 0),
                            func.max(Memory.created_at),
                        ).where(*where)
                    )
                ).one()
            )
            cached = self._cache.get(owner, fingerprint, width)
            if cached is not None:
                return cached
        rows = (
            await session.execute(
                select(
                    Memory.id,
                    Memory.kind,
                    Memory.slot,
                    Memory.content,
                    Memory.embedding,
                    Memory.importance,
                    Memory.created_at,
                    Memory.last_accessed_at,
                    Memory.expires_at,
                ).where(*where)
            )
        ).all()
        self.cache_loads += 1
        entry = UserMemories.of(fingerprint, list(rows), width)
        if self.settings.memory_cache_max_memories:
            self._cache.put(owner, entry)
        return entry

    async def remember(
        self,
        tenant_id: str,
        user_id: str,
        candidates: list[MemoryCandidate],
        *,
        thread_id: str | None = None,
        message_id: str | None = None,
    ) -> list[WriteResult]:
        """Store candidates for the user, deduplicating and superseding."""
        if not candidates:
            return []
        stored = cleaned(candidates)
        vectors = await self._embed([c.content for c in stored])
        return await self._write(tenant_id, user_id, stored, vectors, thread_id, message_id)

    async def _write(
        self,
        tenant_id: str,
        user_id: str,
        stored: list[MemoryCandidate],
        vectors: np.ndarray,
        thread_id: str | None,
        message_id: str | None,
    ) -> list[WriteResult]:
        results: list[WriteResult] = []
        if not stored:
            return results
        self.invalidate(tenant_id, user_id)
        for candidate, vector in zip(stored, vectors, strict=True):
            if not candidate.content:
                results.append(WriteResult("skipped", None, ""))
                continue
            results.append(
                await self._writer.write_one(
                    tenant_id, user_id, candidate, vector, thread_id, message_id
                )
            )
        self.invalidate(tenant_id, user_id)  # a recall that ran meanwhile cached the old rows
        return results

    async def remember_and_recall(
        self,
        tenant_id: str,
        user_id: str,
        candidates: list[MemoryCandidate],
        query: str,
        *,
        thread_id: str | None = None,
        message_id: str | None = None,
    ) -> list[RecalledMemory]:
        """``remember`` the candidates, then ``recall`` by ``query`` (a turn's memory work).

        The new facts and the query are embedded in one batch: one model call, not two
        one after the other, on the turn's path.
        """
        if self.settings.memory_top_k <= 0:  # as ``recall``: no query to embed
            await self.remember(
                tenant_id, user_id, candidates, thread_id=thread_id, message_id=message_id
            )
            return []
        stored = cleaned(candidates)
        width = self.embeddings.vector_bytes
        if not stored and width is not None:
            # Nothing to write first: the user's memories are read while the query is
            # embedded, and only the ranking and the touch wait for it.
            return await self._recall(
                tenant_id, user_id, self._embed([query]), None, early_width=width
            )
        vectors = await self._embed([*(c.content for c in stored), query])
        await self._write(tenant_id, user_id, stored, vectors[:-1], thread_id, message_id)
        return await self._recall(tenant_id, user_id, _ready(vectors), None)

    async def recall(
        self, tenant_id: str, user_id: str, query: str, k: int | None = None
    ) -> list[RecalledMemory]:
        """Up to ``k`` live memories: profile facts, then by relevance x importance x recency.

        Reading touches them (last access, access count).
        """
        if (self.settings.memory_top_k if k is None else k) <= 0:
            return []
        return await self._recall(tenant_id, user_id, _ready(await self._embed([query])), k)

    async def _recall(
        self,
        tenant_id: str,
        user_id: str,
        embedding: Awaitable[np.ndarray],
        k: int | None,
        *,
        early_width: int | None = None,
    ) -> list[RecalledMemory]:
        """Recall by the last vector ``embedding`` gives.

        With ``early_width`` (the model's vector size) the memories are read before the
        vector is awaited, so the read overlaps the embedding (and a user without
        memories never waits for it); else after it.
        """
        k = self.settings.memory_top_k if k is None else k
        # Not cancelled when not needed here (no memories): the search waits for the same
        # vector, and a cancelled batch would make it start another.
        pending = asyncio.ensure_future(embedding)
        pending.add_done_callback(lambda done: done.cancelled() or done.exception())
        if k <= 0:
            return []
        # One connection and one transaction for the read and the touch: each
        # checkout and each transaction costs round trips of its own.
        async with self.sessions() as session, session.begin():
            width = early_width or (await pending)[-1].nbytes
            memories = await self._user_memories(session, tenant_id, user_id, width)
            if not memories.rows:
                return []
            query_vector = (await pending)[-1]
            now = _now()
            half_life = self.settings.memory_half_life_days
            if len(memories.rows) <= _INLINE_RANK:
                order, scores = rank(memories, query_vector, now.timestamp(), half_life, k)
            else:
                order, scores = await self.executor.run(
                    rank, memories, query_vector, now.timestamp(), half_life, k
                )
            if not order:
                return []
            chosen = [memories.rows[i] for i in order]
            await session.execute(
                update(Memory)
                .where(Memory.id.in_([row[0] for row in chosen]))
                .values(last_accessed_at=now, access_count=Memory.access_count + 1)
            )
        if memories.fingerprint:  # what the database now holds, so the entry stays valid
            count, top, accesses, newest = memories.fingerprint
            memories.fingerprint = (count, top, accesses + len(chosen), newest)
            memories.last_accessed[order] = now.timestamp()
        return [
            RecalledMemory(
                memory_id,
                kind,
                slot,
                self.crypto.decrypt(content),
                round(float(scores[i]), 4),
                created_at,
            )
            for i, (memory_id, kind, slot, content, created_at) in zip(order, chosen, strict=True)
        ]

    async def list_memories(
        self, tenant_id: str, user_id: str, *, include_archived: bool = False
    ) -> list[dict[str, Any]]:
        """The user's memories, newest first (decrypted), for people and the CLI."""
        query = select(Memory).where(Memory.tenant_id == tenant_id, Memory.user_id == user_id)
        if not include_archived:
            query = query.where(Memory.archived_at.is_(None))
        async with self.sessions() as session:
            rows = (await session.scalars(query.order_by(Memory.id.desc()))).all()
        return [
            {
                "id": r.id,
                "kind": r.kind,
                "slot": r.slot,
                "content": self.crypto.decrypt(r.content),
                "importance": r.importance,
                "created_at": aware(r.created_at).isoformat(),
                "last_accessed_at": aware(r.last_accessed_at).isoformat(),
                "access_count": r.access_count,
                "expires_at": aware(r.expires_at).isoformat() if r.expires_at else None,
                "archived_at": aware(r.archived_at).isoformat() if r.archived_at else None,
                "superseded_by": r.superseded_by,
            }
            for r in rows
        ]

    async def forget_memory(self, tenant_id: str, user_id: str, memory_id: int) -> bool:
        """Delete one of the user's memories; False if it is not theirs or does not exist."""
        self.invalidate(tenant_id, user_id)
        async with self.sessions() as session, session.begin():
            result = await session.execute(
                delete(Memory).where(
                    Memory.id == memory_id,
                    Memory.tenant_id == tenant_id,
                    Memory.user_id == user_id,
                )
            )
        return bool(getattr(result, "rowcount", 0))

    async def prune(self, now: datetime | None = None) -> dict[str, int]:
        """Archive expired memories; delete those archived longer than the retention period."""
        self.invalidate()
        return await prune_memories(self.sessions, self.settings, now)

    async def rotate_keys(self) -> int:
        """Re-encrypt every memory with the newest key and rehash; returns rows rewritten."""
        self.invalidate()
        return await rotate_memory_keys(self.sessions, self.crypto)

    async def forget_user(self, tenant_id: str, user_id: str) -> int:
        """Delete every memory of the user (archived ones too); returns rows deleted."""
        self.invalidate(tenant_id, user_id)
        async with self.sessions() as session, session.begin():
            result = await session.execute(
                delete(Memory).where(Memory.tenant_id == tenant_id, Memory.user_id == user_id)
            )
        return int(getattr(result, "rowcount", 0) or 0)


async def _ready(vectors: np.ndarray) -> np.ndarray:
    """Vectors already computed, as the awaitable ``MemoryStore._recall`` takes."""
    return vectors
