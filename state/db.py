"""Application tables (SQLAlchemy 2, async) and the engine that serves them.

Holds the knowledge-base manifest (which documents each tenant has ingested,
with content hashes for incremental ingestion) and calibration, customers'
long-term memories, which threads belong to which customer (so a customer can
be forgotten), customers' attachments, and the record of forget requests. Every row is scoped by
tenant (and user where it is personal). Must never hold secrets in plain text:
memory content is redacted before it is written, and encrypted when a key is set.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy
from sqlalchemy import (
    JSON,
    URL,
    Connection,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    inspect,
)
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from state.migrations import LEGACY_VERSION_TABLE, VERSION_TABLE

if TYPE_CHECKING:
    from alembic.config import Config


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


class Memory(Base):
    """Something a customer told the agent, kept across conversations."""

    __tablename__ = "memories"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id", "kind", "content_hash", name="uq_memory_hash"),
        Index("ix_memories_owner", "tenant_id", "user_id", "archived_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32), doc="fact, preference or issue")
    slot: Mapped[str | None] = mapped_column(String(64), nullable=True)
    content: Mapped[str] = mapped_column(Text, doc="Redacted; encrypted when a key is set.")
    content_hash: Mapped[str] = mapped_column(String(64), doc="HMAC-SHA256 when a key is set.")
    embedding: Mapped[bytes] = mapped_column(LargeBinary, doc="float32 vector")
    importance: Mapped[float] = mapped_column(Float, default=0.5)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    last_accessed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    access_count: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    superseded_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    source_thread: Mapped[str | None] = mapped_column(String(128), nullable=True)
    source_message: Mapped[str | None] = mapped_column(String(128), nullable=True)


class ThreadOwner(Base):
    """Which customer a conversation thread belongs to (for forget-user)."""

    __tablename__ = "thread_owners"

    thread_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(128), index=True)
    user_id: Mapped[str] = mapped_column(String(128), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class ForgetRecord(Base):
    """That a customer was forgotten, when, and how much was deleted (never what)."""

    __tablename__ = "forget_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(128))
    user_hash: Mapped[str] = mapped_column(String(64), doc="SHA-256 of the user id")
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    forgotten_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class Ticket(Base):
    """A conversation handed to a human, created exactly once per escalating turn."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(128), index=True)
    user_id: Mapped[str] = mapped_column(String(128), index=True)
    thread_id: Mapped[str] = mapped_column(String(128), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    reasons: Mapped[list[str]] = mapped_column(JSON)
    priority: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), doc="open, assigned or resolved")
    summary: Mapped[str] = mapped_column(Text)
    transcript: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class OutboxMessage(Base):
    """A ticket waiting to be delivered to the helpdesk webhook (at least once)."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(Integer, index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Attachment(Base):
    """A file a customer sent in a conversation, as checked, converted and stored.

    Deduplicated by content hash within a thread. ``markdown`` is redacted before it is
    written; ``chunks`` and ``embedding`` make it searchable within its thread only.
    """

    __tablename__ = "attachments"
    __table_args__ = (
        UniqueConstraint("tenant_id", "thread_id", "sha256", name="uq_attachment_thread_hash"),
        Index("ix_attachments_owner", "tenant_id", "user_id"),
        Index("ix_attachments_thread", "tenant_id", "thread_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[str] = mapped_column(String(128))
    thread_id: Mapped[str] = mapped_column(String(128))
    filename: Mapped[str] = mapped_column(String(255))
    detected_type: Mapped[str] = mapped_column(String(32), doc="From the bytes (magika label).")
    declared_type: Mapped[str | None] = mapped_column(String(128), nullable=True)
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), doc="converted, metadata_only or rejected")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    markdown: Mapped[str] = mapped_column(Text, default="")
    chunks: Mapped[list[str]] = mapped_column(JSON, default=list)
    embedding: Mapped[bytes] = mapped_column(LargeBinary, default=b"", doc="float32 matrix")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


def create_engine(url: str) -> AsyncEngine:
    """An async engine with connection checks (survives server restarts and idle drops)."""
    if url.startswith("sqlite"):
        return create_async_engine(url, connect_args={"timeout": 30})
    # Fail fast during an outage (a turn is answered within its deadline) and reconnect as
    # soon as the database is back (pre-ping replaces connections that died meanwhile).
    return create_async_engine(
        url,
        pool_pre_ping=True,
        pool_recycle=1800,
        pool_timeout=5,
        connect_args={"connect_timeout": 3} if url.startswith("postgresql+psycopg") else {},
    )


_MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _our_revisions(config: Config) -> set[str]:
    from alembic.script import ScriptDirectory

    return {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}


def _adopt_legacy_revision(connection: Connection, config: Config, tables: set[str]) -> bool:
    """Move our revision from ``alembic_version`` to our own version table; whether it did.

    Releases before the own version table wrote our revision to Alembic's default
    ``alembic_version``, which the LangGraph-API server (Aegra) uses too. Only a row that
    is ours moves: its revision is one of our scripts and our first table exists (every
    database our migrations ran on has it; another application's revision id that merely
    looks like ours, with none of our tables, is left alone). Other rows are never touched.
    Runs in the caller's transaction, with the upgrade that follows.
    """
    from alembic import command

    if LEGACY_VERSION_TABLE not in tables:
        return False
    if _has_revision(connection, tables):
        return False
    if "kb_documents" not in tables:
        return False
    legacy = sqlalchemy.table(LEGACY_VERSION_TABLE, sqlalchemy.column("version_num"))
    rows = connection.execute(sqlalchemy.select(legacy.c.version_num)).scalars().all()
    ours = sorted(set(rows) & _our_revisions(config))
    if not ours:
        return False
    command.stamp(config, ours)  # writes our version table with the same revision(s)
    connection.execute(sqlalchemy.delete(legacy).where(legacy.c.version_num.in_(ours)))
    return True


def _has_revision(connection: Connection, tables: set[str]) -> bool:
    """Whether our version table exists and holds a revision.

    An interrupted start may leave it empty (SQLite commits the CREATE TABLE on its own).
    """
    if VERSION_TABLE not in tables:
        return False
    ours = sqlalchemy.table(VERSION_TABLE, sqlalchemy.column("version_num"))
    return connection.execute(sqlalchemy.select(ours.c.version_num)).first() is not None


def _migrate(connection: Connection) -> None:
    """Upgrade to head in our own version table, adopting a revision of ours left in the old one."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    tables = set(inspect(connection).get_table_names())
    adopted = _adopt_legacy_revision(connection, config, tables)
    if not adopted and "kb_documents" in tables and not _has_revision(connection, tables):
        command.stamp(config, "0001")  # a database created before migrations existed
    command.upgrade(config, "head")


def _sync_url(engine: AsyncEngine) -> URL:
    """The same database through a synchronous driver (pysqlite, or psycopg in sync mode)."""
    url = engine.url
    if url.drivername.startswith("sqlite"):
        return url.set(drivername="sqlite")
    return url


def _migrate_in_thread(url: URL) -> None:
    sync_engine = sqlalchemy.create_engine(url)
    try:
        with sync_engine.begin() as connection:
            _migrate(connection)
    finally:
        sync_engine.dispose()


async def init_db(engine: AsyncEngine) -> None:
    """Bring the application tables to the latest migration (Alembic).

    Alembic reads its scripts from disk, so it runs in a worker thread on a synchronous
    connection: never on the event loop (the LangGraph server raises on blocking calls).
    The revision lives in ``support_agent_alembic_version``, so the database can be shared
    with the LangGraph-API server (Aegra), whose Alembic keeps ``alembic_version``.
    """
    await asyncio.to_thread(_migrate_in_thread, _sync_url(engine))


def session_factory(engine: AsyncEngine) -> async_sessionmaker[Any]:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)
