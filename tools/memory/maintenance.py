"""Memory housekeeping: expiry, retention and key rotation, run by operators, not turns.

A mixin of ``MemoryStore`` (``memory prune`` and ``memory rotate-keys`` call it): it
uses the store's sessions, settings, crypto and cache, and never reads or writes a
customer's memories outside them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, select, update

from state import Memory, Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from tools.memory.encryption import MemoryCrypto

__all__ = ["MemoryMaintenance"]


def _now() -> datetime:
    return datetime.now(UTC)


class MemoryMaintenance:
    """``prune`` and ``rotate_keys`` over the store's tables."""

    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    crypto: MemoryCrypto

    def invalidate(self, tenant_id: str | None = None, user_id: str | None = None) -> None:
        """Drop cached memories (the store's cache)."""
        raise NotImplementedError

    async def prune(self, now: datetime | None = None) -> dict[str, int]:
        """Archive expired memories; delete those archived longer than the retention period."""
        now = now or _now()
        cutoff = now - timedelta(days=self.settings.memory_archive_retention_days)
        self.invalidate()
        async with self.sessions() as session, session.begin():
            archived = await session.execute(
                update(Memory)
                .where(
                    Memory.archived_at.is_(None),
                    Memory.expires_at.is_not(None),
                    Memory.expires_at <= now,
                )
                .values(archived_at=now)
            )
            deleted = await session.execute(
                delete(Memory).where(Memory.archived_at.is_not(None), Memory.archived_at <= cutoff)
            )
        return {
            "archived": int(getattr(archived, "rowcount", 0) or 0),
            "deleted": int(getattr(deleted, "rowcount", 0) or 0),
        }

    async def rotate_keys(self) -> int:
        """Re-encrypt every memory with the newest key and rehash; returns rows rewritten.

        Rows that turn out to be duplicates under the new hash (written under different
        keys) are merged: the most recently used one is kept.
        """
        if not self.crypto.enabled:
            return 0
        self.invalidate()
        async with self.sessions() as session, session.begin():
            rows = (
                await session.scalars(select(Memory).order_by(Memory.last_accessed_at.desc()))
            ).all()
            seen: set[tuple[str, str, str, str]] = set()
            rewritten = 0
            for row in rows:
                plain = self.crypto.decrypt(row.content)
                key = (row.tenant_id, row.user_id, row.kind, self.crypto.digest(plain))
                if key in seen:
                    await session.delete(row)
                    continue
                seen.add(key)
                row.content = self.crypto.rotate(row.content)
                row.content_hash = "rotating:" + str(row.id)  # avoid transient collisions
                rewritten += 1
            await session.flush()
            for row in rows:
                if row.content_hash.startswith("rotating:"):
                    row.content_hash = self.crypto.digest(self.crypto.decrypt(row.content))
        return rewritten
