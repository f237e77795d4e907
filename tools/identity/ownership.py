"""Who owns each conversation: the one place thread ownership is recorded and checked.

The first customer to write in a thread owns it; nobody else may continue it,
read it through the runner, or resume it as that customer. A thread's owner never
changes once claimed, so owners are cached per process (two database round trips
saved per turn); only forgetting a customer removes them, and clears the cache in
the process that forgets.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from state import ThreadOwner
from tools.resilience.errors import ThreadAccessError

__all__ = ["Owner", "ThreadOwnership"]

Owner = tuple[str, str]
"""(tenant_id, user_id)."""

_CACHE_SIZE = 100_000
"""Threads whose owner is kept in memory (about 150 bytes each)."""


class ThreadOwnership:
    """Thread owners in the application database, with a bounded in-process cache."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self._known: OrderedDict[str, Owner] = OrderedDict()

    def _cache(self, thread_id: str, owner: Owner) -> Owner:
        self._known[thread_id] = owner
        self._known.move_to_end(thread_id)
        while len(self._known) > _CACHE_SIZE:
            self._known.popitem(last=False)
        return owner

    async def owner(self, thread_id: str) -> Owner | None:
        """(tenant, user) that owns ``thread_id``, or None for a new thread."""
        known = self._known.get(thread_id)
        if known is not None:
            return known
        async with self.sessions() as session:
            row = await session.get(ThreadOwner, thread_id)
        return None if row is None else self._cache(thread_id, (row.tenant_id, row.user_id))

    async def check(self, tenant_id: str, user_id: str, thread_id: str) -> None:
        """Raise ``ThreadAccessError`` if another customer owns ``thread_id``."""
        owner = await self.owner(thread_id)
        if owner is not None and owner != (tenant_id, user_id):
            raise ThreadAccessError(
                f"thread {thread_id} belongs to another customer; start a new thread"
            )

    async def claim(self, tenant_id: str, user_id: str, thread_id: str) -> bool:
        """Record the owner of a new thread; False if another customer owns it."""
        known = self._known.get(thread_id)
        if known is None:
            async with self.sessions() as session, session.begin():
                row = await session.get(ThreadOwner, thread_id)
                if row is None:
                    session.add(
                        ThreadOwner(thread_id=thread_id, tenant_id=tenant_id, user_id=user_id)
                    )
                    known = (tenant_id, user_id)
                else:
                    known = (row.tenant_id, row.user_id)
            self._cache(thread_id, known)
        return known == (tenant_id, user_id)

    async def threads_of(self, tenant_id: str, user_id: str) -> list[str]:
        """The user's thread ids."""
        async with self.sessions() as session:
            rows = await session.scalars(
                select(ThreadOwner.thread_id).where(
                    ThreadOwner.tenant_id == tenant_id, ThreadOwner.user_id == user_id
                )
            )
            return list(rows.all())

    async def release_user(self, tenant_id: str, user_id: str) -> list[str]:
        """Delete the user's ownership rows (after their threads are gone); their ids."""
        threads = await self.threads_of(tenant_id, user_id)
        async with self.sessions() as session, session.begin():
            await session.execute(
                delete(ThreadOwner).where(
                    ThreadOwner.tenant_id == tenant_id, ThreadOwner.user_id == user_id
                )
            )
        self.forget_cached(threads)
        return threads

    async def all_threads(self) -> list[tuple[str, str, str, datetime]]:
        """Every owned thread: (thread id, tenant, user, created at), for retention."""
        async with self.sessions() as session:
            rows = await session.execute(
                select(
                    ThreadOwner.thread_id,
                    ThreadOwner.tenant_id,
                    ThreadOwner.user_id,
                    ThreadOwner.created_at,
                )
            )
            return [(t, tenant, user, created) for t, tenant, user, created in rows.all()]

    async def release_threads(self, thread_ids: Sequence[str]) -> None:
        """Delete these threads' ownership rows (after the threads themselves are gone)."""
        if not thread_ids:
            return
        async with self.sessions() as session, session.begin():
            await session.execute(delete(ThreadOwner).where(ThreadOwner.thread_id.in_(thread_ids)))
        self.forget_cached(thread_ids)

    def forget_cached(self, thread_ids: Iterable[str]) -> None:
        """Drop threads from this process's cache (their owner rows are gone)."""
        for thread_id in thread_ids:
            self._known.pop(thread_id, None)
