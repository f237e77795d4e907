"""Customers' attachments: checked, converted in isolation, stored, searchable within their thread.

Every read and write is scoped by tenant and thread (and the thread's customer
by the guard's thread claim), so one conversation never sees another's files.
Text is redacted (card numbers, passwords, ...) before it is stored, and
encrypted at rest with the memory keys when they are set. A refused file is
stored too, without content, so the human who takes over sees what was sent
and why it was refused.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import load_only

from state import Attachment, Passage, Settings
from tools.attachments.checks import check_file
from tools.attachments.converter import Conversion, IsolatedConverter
from tools.attachments.input import IncomingFile
from tools.embeddings.blas import one_blas_thread
from tools.embeddings.sentence import QueryBatcher, SentenceEmbeddings
from tools.knowledge_base.chunking import chunk_markdown
from tools.memory.encryption import MemoryCrypto
from tools.redaction.secrets import redact
from tools.resilience.executor import BlockingExecutor

__all__ = ["AttachmentRef", "AttachmentStore", "StoredAttachment", "attachment_doc_id"]

_PREFIX = "attachment:"
_CHARS_PER_TOKEN = 4
"""Text past chunks x tokens x this many characters is never chunked (prose runs ~4.5)."""
_TRANSIENT_FAILURES = frozenset({"timeout", "crashed", "unavailable"})
"""Failures that may pass (a loaded machine, a restart): the same file is tried again."""


def attachment_doc_id(attachment_id: int) -> str:
    """The id an attachment is cited by (``attachment:7``)."""
    return f"{_PREFIX}{attachment_id}"


@dataclass(frozen=True)
class AttachmentRef:
    """What the conversation keeps about one attachment (no content)."""

    id: int
    filename: str
    detected_type: str
    status: str
    """``converted``, ``metadata_only`` or ``rejected``."""
    size_bytes: int
    error: str | None = None
    duplicate: bool = False
    """The thread already had this exact file."""
    partial: bool = False
    """Only the beginning of a long file was made searchable."""

    def as_state(self) -> dict[str, Any]:
        """JSON-ready form kept in graph state."""
        return {
            "id": self.id,
            "doc_id": attachment_doc_id(self.id),
            "filename": self.filename,
            "type": self.detected_type,
            "status": self.status,
            "size_bytes": self.size_bytes,
            "error": self.error,
        }


@dataclass(frozen=True)
class StoredAttachment:
    """An attachment with its (decrypted) Markdown."""

    ref: AttachmentRef
    markdown: str


class AttachmentStore:
    """Receives, stores and searches attachments."""

    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        embeddings: SentenceEmbeddings,
        executor: BlockingExecutor,
        crypto: MemoryCrypto,
        queries: QueryBatcher,
        converter: IsolatedConverter | None = None,
    ) -> None:
        self.settings = settings
        self.limits = settings.attachments
        self._sessions = sessions
        self._embeddings = embeddings
        self._executor = executor
        self._crypto = crypto
        self._queries = queries
        self.converter = converter or IsolatedConverter(self.limits)
        # Conversions wait on a child process for up to the timeout: their own threads,
        # so a slow file never holds the executor that embeds every turn's query.
        self._conversions = BlockingExecutor(self.limits.max_concurrent, name="attachments")

    async def receive(
        self, tenant_id: str, user_id: str, thread_id: str, incoming: IncomingFile
    ) -> AttachmentRef:
        """Check, convert and store one file; refused files are stored with the reason."""
        data = incoming.data
        digest = await self._executor.run(lambda: hashlib.sha256(data).hexdigest())
        existing = await self._find(tenant_id, thread_id, digest)
        if existing is not None:
            if (existing.details or {}).get("failure") not in _TRANSIENT_FAILURES:
                return _ref(existing, duplicate=True)
            await self._delete(existing.id)  # it failed for a passing reason: try again
        check = await self._executor.run(check_file, data, self.limits)
        row = Attachment(
            tenant_id=tenant_id,
            user_id=user_id,
            thread_id=thread_id,
            filename=incoming.filename[:255],
            detected_type=check.detected_type[:32],
            declared_type=(incoming.declared_type or None) and incoming.declared_type[:128],
            size_bytes=len(data),
            sha256=digest,
            status="rejected",
            error=check.rejection,
            markdown="",
            chunks=[],
            embedding=b"",
            details={"description": check.description},
        )
        if check.rejection is None:
            conversion = await self._conversions.run(
                self.converter.convert, data, check.detected_type
            )
            await self._fill(row, conversion, is_image=check.is_image)
        return await self._insert(row)

    async def _fill(self, row: Attachment, conversion: Conversion, *, is_image: bool) -> None:
        if not conversion.ok:
            row.error = conversion.error or "it could not be read"
            row.details = {**row.details, "failure": conversion.kind, "detail": conversion.detail}
            return
        if not conversion.markdown.strip():
            row.error = "no text could be read from it"
            return
        markdown = redact(conversion.markdown)
        row.details = {**row.details, **conversion.details, "title": conversion.title}
        row.markdown = self._crypto.encrypt(markdown)
        if is_image:
            row.status = "metadata_only"
            return
        # Only what fits the chunk budget is chunked and embedded: a 10 MB one-line CSV
        # costs a bounded amount of work, whatever the customers around it are doing.
        budget_chars = self.limits.max_chunks * self.settings.chunk_tokens * _CHARS_PER_TOKEN
        partial = len(markdown) > budget_chars or "truncated_from_chars" in row.details
        chunks, matrix = await self._executor.run(
            self._chunk_and_embed, markdown[:budget_chars], row.filename
        )
        if partial or len(chunks) > self.limits.max_chunks:
            row.details = {**row.details, "partial": True}
        chunks, matrix = chunks[: self.limits.max_chunks], matrix[: self.limits.max_chunks]
        row.status = "converted"
        row.chunks = [self._crypto.encrypt(c) for c in chunks]
        row.embedding = matrix.astype(np.float32).tobytes()

    def _chunk_and_embed(self, markdown: str, filename: str) -> tuple[list[str], np.ndarray]:
        chunks = [
            c.text
            for c in chunk_markdown(
                markdown,
                filename,
                max_tokens=self.settings.chunk_tokens,
                overlap_tokens=self.settings.chunk_overlap_tokens,
                count_tokens=self._embeddings.count_tokens,
            )
        ]
        vectors = self._embeddings.embed_documents(chunks)
        return chunks, np.asarray(vectors, dtype=np.float32).reshape(len(chunks), -1)

    async def _insert(self, row: Attachment) -> AttachmentRef:
        try:
            async with self._sessions() as session, session.begin():
                session.add(row)
            return _ref(row)
        except IntegrityError:  # the same file arrived twice at once: keep the first
            existing = await self._find(row.tenant_id, row.thread_id, row.sha256)
            if existing is None:
                raise
            return _ref(existing, duplicate=True)

    async def _delete(self, attachment_id: int) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(delete(Attachment).where(Attachment.id == attachment_id))

    async def _find(self, tenant_id: str, thread_id: str, digest: str) -> Attachment | None:
        async with self._sessions() as session:
            found: Attachment | None = await session.scalar(
                select(Attachment).where(
                    Attachment.tenant_id == tenant_id,
                    Attachment.thread_id == thread_id,
                    Attachment.sha256 == digest,
                )
            )
            return found

    async def search(self, tenant_id: str, thread_id: str, query: str, k: int = 3) -> list[Passage]:
        """The thread's passages for ``query``: each file's best chunk, best first."""
        async with self._sessions() as session:
            rows = (
                await session.scalars(
                    select(Attachment)
                    .options(
                        load_only(
                            Attachment.id,
                            Attachment.filename,
                            Attachment.chunks,
                            Attachment.embedding,
                        )
                    )
                    .where(
                        Attachment.tenant_id == tenant_id,
                        Attachment.thread_id == thread_id,
                        Attachment.status == "converted",
                    )
                )
            ).all()
        if not rows or not query.strip():
            return []
        # The knowledge base embedded this query a moment ago: the shared batcher's cache
        # answers on the event loop, without a second model call or executor hop.
        vector = np.asarray(await self._queries.embed(query))
        passages: list[Passage] = []
        for row in rows:
            matrix = np.frombuffer(row.embedding, dtype=np.float32).reshape(len(row.chunks), -1)
            if not len(matrix):
                continue
            with one_blas_thread():
                scores = matrix @ vector.astype(np.float32)
            best = int(np.argmax(scores))
            score = round(float(scores[best]), 4)
            passages.append(
                Passage(
                    doc_id=attachment_doc_id(row.id),
                    title=row.filename,
                    source=f"attachment ({row.filename})",
                    text=self._crypto.decrypt(row.chunks[best]),
                    score=score,
                    dense=score,
                )
            )
        passages.sort(key=lambda p: -p["dense"])
        return passages[:k]

    async def read(
        self, tenant_id: str, thread_id: str, attachment: int | str
    ) -> StoredAttachment | None:
        """One attachment of this thread, by id, ``attachment:<id>`` or file name."""
        condition: Any
        text = str(attachment).strip()
        if text.removeprefix(_PREFIX).isdigit():
            condition = Attachment.id == int(text.removeprefix(_PREFIX))
        else:
            condition = Attachment.filename == text
        async with self._sessions() as session:
            row = await session.scalar(
                select(Attachment)
                .where(Attachment.tenant_id == tenant_id, Attachment.thread_id == thread_id)
                .where(condition)
                .order_by(Attachment.id.desc())
                .limit(1)
            )
        if row is None:
            return None
        return StoredAttachment(
            _ref(row), self._crypto.decrypt(row.markdown) if row.markdown else ""
        )

    async def list_thread(self, tenant_id: str, thread_id: str) -> list[AttachmentRef]:
        """The thread's attachments, oldest first."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(Attachment)
                .where(Attachment.tenant_id == tenant_id, Attachment.thread_id == thread_id)
                .order_by(Attachment.id)
            )
            return [_ref(r) for r in rows]

    async def chunk_count(self, attachment_id: int) -> int:
        """How many chunks of a stored file are searchable."""
        async with self._sessions() as session:
            row = await session.get(Attachment, attachment_id)
        return len(row.chunks or []) if row is not None else 0

    async def forget_threads(self, thread_ids: Sequence[str]) -> int:
        """Delete the files sent in these threads (retention); return how many."""
        if not thread_ids:
            return 0
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                delete(Attachment).where(Attachment.thread_id.in_(thread_ids))
            )
        return int(getattr(result, "rowcount", 0) or 0)

    async def forget_user(self, tenant_id: str, user_id: str) -> int:
        """Delete every attachment the customer sent; return how many."""
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                delete(Attachment).where(
                    Attachment.tenant_id == tenant_id, Attachment.user_id == user_id
                )
            )
        return int(getattr(result, "rowcount", 0) or 0)

    async def rotate_keys(self) -> int:
        """Re-encrypt stored text with the newest memory key; return how many files."""
        if not self._crypto.enabled:
            return 0
        async with self._sessions() as session, session.begin():
            rows = (
                await session.scalars(select(Attachment).where(Attachment.markdown != ""))
            ).all()
            for row in rows:
                row.markdown = self._crypto.rotate(row.markdown)
                row.chunks = [self._crypto.rotate(c) for c in row.chunks]
        return len(rows)

    async def aclose(self) -> None:
        """Stop the conversion processes and their threads."""
        await asyncio.to_thread(self.converter.close)
        await self._conversions.shutdown(5)


def _ref(row: Attachment, *, duplicate: bool = False) -> AttachmentRef:
    return AttachmentRef(
        id=row.id,
        filename=row.filename,
        detected_type=row.detected_type,
        status=row.status,
        size_bytes=row.size_bytes,
        error=row.error,
        duplicate=duplicate,
        partial=bool((row.details or {}).get("partial")),
    )
