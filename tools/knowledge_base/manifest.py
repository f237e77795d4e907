"""The knowledge base's rows in the application database: manifest and collection state.

Exists so ingestion can be incremental (``KbDocument``: one row per ingested document
with its content hash) and so every process sees the same collection version and
abstention calibration (``KbCollection``: one row per tenant).

It must never touch Chroma, load or chunk documents, or decide what changed: it
stores what it is given and reads back what is stored, always scoped by tenant.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from state import KbCollection, KbDocument
from tools.knowledge_base.loaders import SourceDocument

__all__ = ["Manifest", "ManifestEntry"]

ManifestEntry = tuple[SourceDocument, int, str]
"""(document, number of chunks written, content hash recorded for it)."""


class Manifest:
    """Reads and writes a tenant's ``KbDocument`` and ``KbCollection`` rows."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def documents(self, tenant_id: str) -> list[KbDocument]:
        """Every document row of the tenant."""
        async with self.sessions() as session:
            return list(
                (
                    await session.scalars(
                        select(KbDocument).where(KbDocument.tenant_id == tenant_id)
                    )
                ).all()
            )

    async def known_documents(self, tenant_id: str) -> dict[str, KbDocument]:
        """The tenant's document rows by doc_id."""
        return {row.doc_id: row for row in await self.documents(tenant_id)}

    async def save_ingest(
        self, tenant_id: str, written: Sequence[ManifestEntry], removed: list[str]
    ) -> None:
        """Record written documents, forget removed ones, bump the version if anything changed.

        The collection row is created (version 1, no calibration) on first ingest.
        """
        async with self.sessions() as session, session.begin():
            for doc, chunk_count, content_hash in written:
                await session.merge(
                    KbDocument(
                        tenant_id=tenant_id,
                        doc_id=doc.doc_id,
                        title=doc.title,
                        source=doc.source,
                        root=doc.root,
                        content_hash=content_hash,
                        chunk_count=chunk_count,
                        updated_at=datetime.now(UTC),
                    )
                )
            if removed:
                await session.execute(
                    delete(KbDocument).where(
                        KbDocument.tenant_id == tenant_id, KbDocument.doc_id.in_(removed)
                    )
                )
            collection = await session.get(KbCollection, tenant_id)
            if collection is None:
                session.add(KbCollection(tenant_id=tenant_id, version=1, calibration={}))
            elif written or removed:
                collection.version += 1

    async def collection_state(self, tenant_id: str) -> tuple[int, dict[str, Any]]:
        """(version, calibration) of the tenant's collection; (0, {}) if never ingested."""
        async with self.sessions() as session:
            row = await session.get(KbCollection, tenant_id)
            return (row.version, dict(row.calibration or {})) if row else (0, {})

    async def save_calibration(self, tenant_id: str, calibration: dict[str, Any]) -> None:
        """Store the tenant's calibration (creating the collection row if needed)."""
        async with self.sessions() as session, session.begin():
            collection = await session.get(KbCollection, tenant_id)
            if collection is None:
                session.add(KbCollection(tenant_id=tenant_id, version=1, calibration=calibration))
            else:
                collection.calibration = calibration
