"""The recall cache: each (tenant, user)'s live memories as arrays, kept in process.

Bounded by ``memory_cache_max_memories``. An entry is valid only for the database
fingerprint it was read at (count, highest id, summed access counts, newest
creation time): any write, here or in another process, changes it. Entries are
keyed by the (tenant, user) pair, never by a joined string, so no tenant is
served another's rows.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from tools.embeddings.blas import one_blas_thread
from tools.memory.rules import SINGLE_VALUED_SLOTS

__all__ = ["RecallCache", "UserMemories", "aware", "rank"]


def aware(value: datetime) -> datetime:
    """SQLite returns naive datetimes; they were written as UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass
class UserMemories:
    """One user's live memories as arrays, with the fingerprint they were read at."""

    fingerprint: tuple[Any, ...]
    width: int
    rows: list[Any]
    """(id, kind, slot, content as stored, created_at) per memory."""
    matrix: np.ndarray
    importance: np.ndarray
    last_accessed: np.ndarray
    """Epoch seconds."""
    expires: np.ndarray
    """Epoch seconds; +inf for no expiry."""
    profile: np.ndarray
    """Whether the memory fills a single-valued slot (plan, language, channel)."""

    @classmethod
    def of(cls, fingerprint: tuple[Any, ...], rows: list[Any], width: int) -> UserMemories:
        """Arrays from database rows (rows of another embedding width are skipped)."""
        rows = [r for r in rows if len(r.embedding) == width]  # other models' rows: skipped
        matrix = np.frombuffer(b"".join(r.embedding for r in rows), dtype=np.float32)
        return cls(
            fingerprint,
            width,
            [(r.id, r.kind, r.slot, r.content, aware(r.created_at)) for r in rows],
            matrix.reshape(len(rows), width // 4),
            np.array([r.importance for r in rows], dtype=np.float64),
            np.array([aware(r.last_accessed_at).timestamp() for r in rows], dtype=np.float64),
            np.array(
                [aware(r.expires_at).timestamp() if r.expires_at else np.inf for r in rows],
                dtype=np.float64,
            ),
            np.array([r.slot in SINGLE_VALUED_SLOTS for r in rows], dtype=bool),
        )


def rank(
    memories: UserMemories, query: np.ndarray, now: float, half_life_days: float, k: int
) -> tuple[list[int], np.ndarray]:
    """Indexes of up to ``k`` live memories to recall, and all scores.

    Profile facts (plan, language, contact channel) always come along: they shape every
    answer. The rest must be at least loosely related to the query.
    """
    alive = memories.expires > now
    live = np.flatnonzero(alive)
    with one_blas_thread():
        products = memories.matrix @ query
    relevance = np.where(alive, np.clip(products, 0.0, 1.0), 0.0)
    decay = np.power(0.5, (now - memories.last_accessed) / 86400 / half_life_days)
    scores = np.where(alive, relevance * (0.5 + memories.importance) * decay, 0.0)
    ranked = live[np.argsort(-scores[live])]
    profile = [int(i) for i in ranked[memories.profile[ranked]][:k]]
    chosen = set(profile)
    candidates = ranked[relevance[ranked] > 0.1][: k + len(profile)]
    related = [int(i) for i in candidates if int(i) not in chosen]
    return (profile + related)[:k], scores


class RecallCache:
    """Users' memories by (tenant, user), least recently used dropped beyond the limit."""

    def __init__(self, max_memories: int) -> None:
        self.max_memories = max_memories
        self._entries: OrderedDict[tuple[str, str], UserMemories] = OrderedDict()
        self._size = 0

    def get(self, owner: tuple[str, str], fingerprint: tuple[Any, ...], width: int) -> Any:
        """The entry read at ``fingerprint`` (and ``width``), else None."""
        cached = self._entries.get(owner)
        if cached is None or (cached.fingerprint, cached.width) != (fingerprint, width):
            return None
        self._entries.move_to_end(owner)
        return cached

    def put(self, owner: tuple[str, str], entry: UserMemories) -> None:
        """Keep ``entry`` unless it alone is over the limit; evict the oldest beyond it."""
        self.invalidate(owner)
        if len(entry.rows) > self.max_memories:
            return
        self._entries[owner] = entry
        self._size += len(entry.rows)
        while self._size > self.max_memories:
            _, old = self._entries.popitem(last=False)
            self._size -= len(old.rows)

    def invalidate(self, owner: tuple[str, str] | None = None) -> None:
        """Drop one (tenant, user)'s entry, or every entry."""
        if owner is None:
            self._entries.clear()
            self._size = 0
            return
        entry = self._entries.pop(owner, None)
        if entry is not None:
            self._size -= len(entry.rows)
