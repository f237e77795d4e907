"""Long-term memory: write, read, expire, forget; scoped by (tenant, user) on every query.

Reads rank by relevance x importance x recency decay.

Deduplication: an exact match of the normalised content's hash merges; otherwise, for
free-text memories, one of the same kind whose embedding is closer than the dedup
threshold merges (paraphrases such as "likes apples" / "prefers apples"). Slot values
(plan, product, order, ...) are compared exactly, because different values embed
close. For single-valued slots (plan, language, contact channel) a different value
supersedes: the old memory is archived with a pointer to the new one (history kept).

Recall cache: each (tenant, user)'s live memories (vectors included) stay in process,
bounded by ``memory_cache_max_memories``. Every recall first reads a small fingerprint of
that user's rows from the database (count, highest id, summed access counts, newest
creation time): any write, here or in another process, changes it and the rows are read
again. Writes in this process drop the entry at once. Entries are keyed by the
(tenant, user) pair, never by a joined string, so no tenant is served another's rows.

Encryption (optional): content is encrypted with MultiFernet (newest key first, so
keys rotate) and the hash is an HMAC keyed from the newest key, so neither reveals
the content. Embeddings stay in clear: similarity search needs them, and they cannot
be turned back into text exactly (they are still derived from it: treat the
database as personal data either way).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from state import Memory, Settings, ThreadOwner
from tools.embeddings.sentence import QueryBatcher, SentenceEmbeddings
from tools.memory.rules import SINGLE_VALUED_SLOTS, MemoryCandidate
from tools.redaction.secrets import redact
from tools.resilience.executor import BlockingExecutor

__all__ = ["MemoryCrypto", "MemoryStore", "RecalledMemory", "WriteResult"]


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    """SQLite returns naive datetimes; they were written as UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def normalise(text: str) -> str:
    """Lower-cased, punctuation-free, single-spaced: the form that is hashed."""
    return " ".join(re.sub(r"[^\w\s-]", " ", text.lower()).split())


_VALUE_TOKEN = re.compile(r"\b[\w-]*\d[\w-]*\b")


def same_values(a: str, b: str) -> bool:
    """Whether two statements name the same numbers and codes ("E-104" is not "E-107").

    >>> same_values("thermostat shows error E-104", "my thermostat displays E-104")
    True
    >>> same_values("thermostat shows error E-104", "thermostat shows error E-107")
    False
    """
    return set(_VALUE_TOKEN.findall(a.lower())) == set(_VALUE_TOKEN.findall(b.lower()))


_INLINE_RANK = 2000
"""Up to this many memories are ranked on the event loop (microseconds); more go to the
executor."""


@dataclass
class _UserMemories:
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
    def of(cls, fingerprint: tuple[Any, ...], rows: list[Any], width: int) -> _UserMemories:
        rows = [r for r in rows if len(r.embedding) == width]  # other models' rows: skipped
        matrix = np.frombuffer(b"".join(r.embedding for r in rows), dtype=np.float32)
        return cls(
            fingerprint,
            width,
            [(r.id, r.kind, r.slot, r.content, _aware(r.created_at)) for r in rows],
            matrix.reshape(len(rows), width // 4),
            np.array([r.importance for r in rows], dtype=np.float64),
            np.array([_aware(r.last_accessed_at).timestamp() for r in rows], dtype=np.float64),
            np.array(
                [_aware(r.expires_at).timestamp() if r.expires_at else np.inf for r in rows],
                dtype=np.float64,
            ),
            np.array([r.slot in SINGLE_VALUED_SLOTS for r in rows], dtype=bool),
        )


def _rank(
    memories: _UserMemories, query: np.ndarray, now: float, half_life_days: float, k: int
) -> tuple[list[int], np.ndarray]:
    """Indexes of up to ``k`` live memories to recall, and all scores.

    Profile facts (plan, language, contact channel) always come along: they shape every
    answer. The rest must be at least loosely related to the query.
    """
    alive = memories.expires > now
    live = np.flatnonzero(alive)
    relevance = np.where(alive, np.clip(memories.matrix @ query, 0.0, 1.0), 0.0)
    decay = np.power(0.5, (now - memories.last_accessed) / 86400 / half_life_days)
    scores = np.where(alive, relevance * (0.5 + memories.importance) * decay, 0.0)
    ranked = live[np.argsort(-scores[live])]
    profile = [int(i) for i in ranked[memories.profile[ranked]][:k]]
    chosen = set(profile)
    candidates = ranked[relevance[ranked] > 0.1][: k + len(profile)]
    related = [int(i) for i in candidates if int(i) not in chosen]
    return (profile + related)[:k], scores


_OWNER_CACHE_SIZE = 100_000
"""Threads whose owner is kept in memory (about 150 bytes each)."""


class MemoryCrypto:
    """Encrypts content and keys hashes when keys are configured; plain SHA-256 otherwise."""

    def __init__(self, keys: str | None) -> None:
        self.keys = [k.strip() for k in (keys or "").split(",") if k.strip()]
        self._fernet: Any = None
        if self.keys:
            from cryptography.fernet import Fernet, MultiFernet

            self._fernet = MultiFernet([Fernet(k.encode()) for k in self.keys])
            self._hmac_keys = [
                hashlib.sha256(b"memory-hash:" + key.encode()).digest() for key in self.keys
            ]

    @property
    def enabled(self) -> bool:
        """Whether content is encrypted at rest."""
        return self._fernet is not None

    def encrypt(self, text: str) -> str:
        """Ciphertext (or the text itself without keys)."""
        return self._fernet.encrypt(text.encode()).decode() if self._fernet else text

    def decrypt(self, stored: str) -> str:
        """Plain text of stored content (any configured key can decrypt)."""
        return self._fernet.decrypt(stored.encode()).decode() if self._fernet else stored

    def rotate(self, stored: str) -> str:
        """Re-encrypt with the newest key."""
        return self._fernet.rotate(stored.encode()).decode() if self._fernet else stored

    def digest(self, text: str) -> str:
        """The dedup hash of normalised content (HMAC keyed from the newest key)."""
        return self.digests(text)[0]

    def digests(self, text: str) -> list[str]:
        """The hash under every configured key, newest first (matches survive rotation)."""
        data = normalise(text).encode()
        if self._fernet is None:
            return [hashlib.sha256(data).hexdigest()]
        return [hmac.new(key, data, hashlib.sha256).hexdigest() for key in self._hmac_keys]


@dataclass(frozen=True)
class WriteResult:
    """What happened to one candidate."""

    action: str
    """``added``, ``merged`` (a duplicate), ``superseded`` (replaced a value), ``restored``
    (an archived value said again) or ``skipped``."""
    memory_id: int | None
    content: str


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
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.embeddings = embeddings
        self.executor = executor
        key = settings.memory_encryption_key
        self.crypto = MemoryCrypto(key.get_secret_value() if key else None)
        self.queries = QueryBatcher(embeddings, executor, enabled=settings.embedding_batching)
        self._cache: OrderedDict[tuple[str, str], _UserMemories] = OrderedDict()
        self._owners: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._cached_memories = 0
        self.cache_loads = 0
        """Times a user's memories were read from the database for recall (tests, bench)."""

    async def _embed(self, texts: list[str]) -> np.ndarray:
        if len(texts) == 1:
            vectors = [await self.queries.embed(texts[0])]
        else:
            vectors = await self.queries.embed_many(texts)
        return np.asarray(vectors, dtype=np.float32)

    def invalidate(self, tenant_id: str | None = None, user_id: str | None = None) -> None:
        """Drop cached memories: of one (tenant, user), or of everyone."""
        if tenant_id is None or user_id is None:
            self._cache.clear()
            self._cached_memories = 0
            return
        entry = self._cache.pop((tenant_id, user_id), None)
        if entry is not None:
            self._cached_memories -= len(entry.rows)

    def _remember_entry(self, owner: tuple[str, str], entry: _UserMemories) -> None:
        self.invalidate(*owner)
        limit = self.settings.memory_cache_max_memories
        if len(entry.rows) > limit:
            return
        self._cache[owner] = entry
        self._cached_memories += len(entry.rows)
        while self._cached_memories > limit:
            _, old = self._cache.popitem(last=False)
            self._cached_memories -= len(old.rows)

    @staticmethod
    def _owner_filter(tenant_id: str, user_id: str) -> tuple[Any, ...]:
        return (
            Memory.tenant_id == tenant_id,
            Memory.user_id == user_id,
            Memory.archived_at.is_(None),
        )

    async def _user_memories(self, tenant_id: str, user_id: str, width: int) -> _UserMemories:
        """The user's live memories: from the cache if the database fingerprint matches."""
        owner = (tenant_id, user_id)
        where = self._owner_filter(tenant_id, user_id)
        async with self.sessions() as session:
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
                cached = self._cache.get(owner)
                if cached and (cached.fingerprint, cached.width) == (fingerprint, width):
                    self._cache.move_to_end(owner)
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
        entry = _UserMemories.of(fingerprint, list(rows), width)
        if self.settings.memory_cache_max_memories:
            self._remember_entry(owner, entry)
        return entry

    def _expiry(self, kind: str, now: datetime) -> datetime | None:
        days = self.settings.memory_ttl_days.get(kind)
        return now + timedelta(days=days) if days else None

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
        results: list[WriteResult] = []
        if not candidates:
            return results
        cleaned = [
            MemoryCandidate(c.kind, redact(c.content).strip()[:500], c.slot, c.importance)
            for c in candidates
        ]
        vectors = await self._embed([c.content for c in cleaned])
        self.invalidate(tenant_id, user_id)
        for candidate, vector in zip(cleaned, vectors, strict=True):
            if not candidate.content:
                results.append(WriteResult("skipped", None, ""))
                continue
            results.append(
                await self._write_one(tenant_id, user_id, candidate, vector, thread_id, message_id)
            )
        self.invalidate(tenant_id, user_id)  # a recall that ran meanwhile cached the old rows
        return results

    async def _write_one(
        self,
        tenant_id: str,
        user_id: str,
        candidate: MemoryCandidate,
        vector: np.ndarray,
        thread_id: str | None,
        message_id: str | None,
    ) -> WriteResult:
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

    async def recall(
        self, tenant_id: str, user_id: str, query: str, k: int | None = None
    ) -> list[RecalledMemory]:
        """Up to ``k`` live memories: profile facts, then by relevance x importance x recency.

        Reading touches them (last access, access count).
        """
        k = self.settings.memory_top_k if k is None else k
        if k <= 0:
            return []
        now = _now()
        query_vector = (await self._embed([query]))[0]
        memories = await self._user_memories(tenant_id, user_id, query_vector.nbytes)
        if not memories.rows:
            return []
        half_life = self.settings.memory_half_life_days
        if len(memories.rows) <= _INLINE_RANK:
            order, scores = _rank(memories, query_vector, now.timestamp(), half_life, k)
        else:
            order, scores = await self.executor.run(
                _rank, memories, query_vector, now.timestamp(), half_life, k
            )
        if not order:
            return []
        chosen = [memories.rows[i] for i in order]
        async with self.sessions() as session, session.begin():
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
                "created_at": _aware(r.created_at).isoformat(),
                "last_accessed_at": _aware(r.last_accessed_at).isoformat(),
                "access_count": r.access_count,
                "expires_at": _aware(r.expires_at).isoformat() if r.expires_at else None,
                "archived_at": _aware(r.archived_at).isoformat() if r.archived_at else None,
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

    def _known_owner(self, thread_id: str, owner: tuple[str, str] | None = None) -> Any:
        """The cached owner of a thread (and cache ``owner`` when given).

        A thread's owner never changes once claimed; only ``forget`` removes it (and
        clears this cache in its process). Caching it saves two database round trips
        per turn.
        """
        if owner is not None:
            self._owners[thread_id] = owner
            self._owners.move_to_end(thread_id)
            while len(self._owners) > _OWNER_CACHE_SIZE:
                self._owners.popitem(last=False)
        return self._owners.get(thread_id)

    def forget_threads(self, thread_ids: Iterable[str]) -> None:
        """Drop forgotten threads from the owner cache."""
        for thread_id in thread_ids:
            self._owners.pop(thread_id, None)

    async def thread_owner(self, thread_id: str) -> tuple[str, str] | None:
        """(tenant, user) that owns ``thread_id``, or None for a new thread."""
        known: tuple[str, str] | None = self._known_owner(thread_id)
        if known is not None:
            return known
        async with self.sessions() as session:
            row = await session.get(ThreadOwner, thread_id)
        if row is None:
            return None
        owner: tuple[str, str] = self._known_owner(thread_id, (row.tenant_id, row.user_id))
        return owner

    async def claim_thread(self, tenant_id: str, user_id: str, thread_id: str) -> bool:
        """Record the owner of a new thread; False if another customer owns it."""
        known = self._known_owner(thread_id)
        if known is not None:
            return bool(known == (tenant_id, user_id))
        async with self.sessions() as session, session.begin():
            row = await session.get(ThreadOwner, thread_id)
            if row is None:
                session.add(ThreadOwner(thread_id=thread_id, tenant_id=tenant_id, user_id=user_id))
                owner = (tenant_id, user_id)
            else:
                owner = (row.tenant_id, row.user_id)
        self._known_owner(thread_id, owner)
        return owner == (tenant_id, user_id)

    async def threads_of(self, tenant_id: str, user_id: str) -> list[str]:
        """The user's thread ids."""
        async with self.sessions() as session:
            return list(
                (
                    await session.scalars(
                        select(ThreadOwner.thread_id).where(
                            ThreadOwner.tenant_id == tenant_id, ThreadOwner.user_id == user_id
                        )
                    )
                ).all()
            )
