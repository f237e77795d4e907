"""Application tables (SQLAlchemy 2, async) and the engine that serves them.

Holds the knowledge-base manifest: which documents each tenant has ingested,
with content hashes for incremental ingestion, and each tenant's knowledge-base
calibration. Must never hold secrets in plain text.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, Text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def _now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base of the application tables."""


class KbDocument(Base):
    """One ingested document of a tenant's knowledge base."""

    __tablename__ = "kb_documents"

    tenant_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    doc_id: Mapped[str] = mapped_column(String(512), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    root: Mapped[str] = mapped_column(Text, doc="The ingested path this document came from.")
    content_hash: Mapped[str] = mapped_column(String(64))
    chunk_count: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class KbCollection(Base):
    """Per-tenant knowledge-base version and calibration."""

    __tablename__ = "kb_collections"

    tenant_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    calibration: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


def create_engine(url: str) -> AsyncEngine:
    """An async engine with connection checks (survives server restarts and idle drops)."""
    if url.startswith("sqlite"):
        return create_async_engine(url, connect_args={"timeout": 30})
    return create_async_engine(url, pool_pre_ping=True, pool_recycle=1800)


async def init_db(engine: AsyncEngine) -> None:
    """Create the application tables if they do not exist."""
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[Any]:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)
