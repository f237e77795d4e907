"""How a memory is written: deduplicated, merged, superseded or revived, in one transaction.

Exists apart from the store (``tools.memory.store``), which reads, caches and forgets:
these are the rules of one write. An exact match of the content's hash merges; for free
text, an embedding closer than the dedup threshold that names the same numbers and codes
merges (``same_values``); a different value of a single-valued slot supersedes the old
one, which is archived with a pointer to the new; a value said again after being
archived is restored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from state import Memory, Settings
from tools.memory.encryption import MemoryCrypto
from tools.memory.rules import SINGLE_VALUED_SLOTS, MemoryCandidate
from tools.redaction.secrets import redact

__all__ = ["MemoryWriter", "WriteResult", "cleaned", "same_values"]


def _now() -> datetime:
    return datetime.now(UTC)


_VALUE_TOKEN = re.compile(r"\b[\w-]*\d[\w-]*\b")


def same_values(a: str, b: str) -> bool:
    """Whether two statements name the same numbers and codes ("E-104" is not "E-107").

    >>> same_values("thermostat shows error E-104", "my thermostat displays E-104")
    True
    >>> same_values("thermostat shows error E-104", "thermostat shows error E-107")
    False
    """
    return set(_VALUE_TOKEN.findall(a.lower())) == set(_VALUE_TOKEN.findall(b.lower()))


def cleaned(candidates: list[MemoryCandidate]) -> list[MemoryCandidate]:
    """Candidates as stored: secrets redacted, trimmed, at most 500 characters."""
    return [
        MemoryCandidate(c.kind, redact(c.content).strip()[:500], c.slot, c.importance)
        for c in candidates
    ]


@dataclass(frozen=True)
class WriteResult:
    """What happened to one candidate."""

    action: str
    """``added``, ``merged`` (a duplicate), ``superseded`` (replaced a value), ``restored``
    (an archived value said again) or ``skipped``."""
    memory_id: int | None
    content: str


class MemoryWriter:
    """Writes one cleaned candidate at a time for a (tenant, user)."""

    def __init__(
        self, settings: Settings, sessions: async_sessionmaker[AsyncSession], crypto: MemoryCrypto
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.crypto = crypto

    def _expiry(self, kind: str, now: datetime) -> datetime | None:
        days = self.settings.memory_ttl_days.get(kind)
        return now + timedelta(days=days) if days else None

    async def write_one(
        self,
        tenant_id: str,
        user_id: str,
        candidate: MemoryCandidate,
        vector: np.ndarray,
        thread_id: str | None,
        message_id: str | None,
    ) -> WriteResult:
        """Write ``candidate`` (already ``cleaned``) with its embedding, in one transaction."""
        now = _now()
        digests = self.crypto.digests(candidate.content)
        async with self.sessions() as session, session.begin():
            rows = (
                await session.scalars(
                    select(Memory).where(
                        Memory.tenant_id == tenant_id,
                        Memory.user_id == user_id,
                        Memory.kind == candidate.kind,
                    )
                )
            ).all()
            live = [r for r in rows if r.archived_at is None]
            match = next((r for r in live if r.content_hash in digests), None) or next(
                (r for r in live if self._paraphrase(r, candidate, vector)), None
            )
            if match is not None:
                self._touch(match, candidate, now)
                return WriteResult("merged", match.id, self.crypto.decrypt(match.content))
            same_slot = [r for r in live if candidate.slot and r.slot == candidate.slot]
            archived = next((r for r in rows if r.content_hash in digests), None)
            if archived is not None:  # said again after being superseded or expired: revive it
                archived.archived_at = None
                archived.superseded_by = None
                self._touch(archived, candidate, now)
                memory = archived
            else:
                memory = Memory(
                    tenant_id=tenant_id,
                    user_id=user_id,
                    kind=candidate.kind,
                    slot=candidate.slot,
                    content=self.crypto.encrypt(candidate.content),
                    content_hash=self.crypto.digest(candidate.content),
                    embedding=vector.astype(np.float32).tobytes(),
                    importance=candidate.importance,
                    created_at=now,
                    last_accessed_at=now,
                    access_count=0,
                    expires_at=self._expiry(candidate.kind, now),
                    source_thread=thread_id,
                    source_message=message_id,
                )
                try:
                    async with session.begin_nested():
                        session.add(memory)
                except IntegrityError:  # a concurrent twin was written first: merge into it
                    twin = await session.scalar(
                        select(Memory).where(
                            Memory.tenant_id == tenant_id,
                            Memory.user_id == user_id,
                            Memory.kind == candidate.kind,
                            Memory.content_hash.in_(digests),
                        )
                    )
                    return WriteResult("merged", twin.id if twin else None, candidate.content)
            action = "restored" if archived is not None else "added"
            if candidate.slot in SINGLE_VALUED_SLOTS:
                for old in same_slot:
                    if old.id != memory.id:
                        old.archived_at = now
                        old.superseded_by = memory.id
                        action = "superseded"
            return WriteResult(action, memory.id, candidate.content)

    def _paraphrase(self, row: Memory, candidate: MemoryCandidate, vector: np.ndarray) -> bool:
        """Free text of the same meaning, naming the same numbers and codes.

        Slot values are never paraphrases: "Pro plan" and "Basic plan" embed close together
        but are different facts.
        """
        if candidate.slot is not None or row.slot is not None:
            return False
        stored = np.frombuffer(row.embedding, dtype=np.float32)
        if stored.shape != vector.shape:  # written by another embedding model
            return False
        return float(stored @ vector) >= self.settings.memory_dedup_threshold and same_values(
            self.crypto.decrypt(row.content), candidate.content
        )

    def _touch(self, row: Memory, candidate: MemoryCandidate, now: datetime) -> None:
        row.last_accessed_at = now
        row.access_count += 1
        row.importance = max(row.importance, candidate.importance)
        row.expires_at = self._expiry(candidate.kind, now)
