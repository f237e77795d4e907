"""Memory housekeeping: expiry, retention and key rotation, run by operators, not turns.

``MemoryStore.prune`` and ``MemoryStore.rotate_keys`` (``memory prune``, ``memory
rotate-keys``) delegate here, with the store's sessions, settings and crypto; the
caller drops the recall cache first.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, select, update

from state import Memory, Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from tools.memory.encryption import MemoryCrypto

__all__ = ["prune_memories", "rotate_memory_keys"]


def _now() -> datetime:
    return datetime.now(UTC)


async def prune_memories(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, now: datetime | None = None
) -> dict[str, int]:
    """Archive expired memories; delete those archived longer than the retention period."""
    now = now or _now()
    cutoff = now - timedelta(days=settings.memory_archive_retention_days)
    async with sessions() as session, session.begin():
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


async def rotate_memory_keys(
    sessions: async_sessionmaker[AsyncSession], crypto: MemoryCrypto
) -> int:
    """Re-encrypt every memory with the newest key and rehash; returns rows rewritten.

    Rows that turn out to be duplicates under the new hash (written under different
    keys) are merged: the most recently used one is kept.
    """
    if not crypto.enabled:
        return 0
    async with sessions() as session, session.begin():
        rows = (
            await session.scalars(select(Memory).order_by(Memory.last_accessed_at.desc()))
        ).all()
        seen: set[tuple[str, str, str, str]] = set()
        rewritten = 0
        for row in rows:
            plain = crypto.decrypt(row.content)
            key = (row.tenant_id, row.user_id, row.kind, crypto.digest(plain))
            if key in seen:
                await session.delete(row)
                continue
            seen.add(key)
            row.content = crypto.rotate(row.content)
            row.content_hash = "rotating:" + str(row.id)  # avoid transient collisions
            rewritten += 1
        await session.flush()
        for row in rows:
            if row.content_hash.startswith("rotating:"):
                row.content_hash = crypto.digest(crypto.decrypt(row.content))
    return rewritten
