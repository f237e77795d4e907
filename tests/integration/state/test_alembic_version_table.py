"""Our migrations keep their revision in their own version table, beside Aegra's Alembic.

Real Postgres (a fresh database per test, dropped afterwards) and real SQLite files.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import sqlalchemy
from alembic.config import Config
from alembic.script import ScriptDirectory

import state.migrations
from state.db import Base, create_engine, init_db
from state.migrations import VERSION_TABLE

pytestmark = pytest.mark.integration

MIGRATIONS = Path(state.migrations.__file__).resolve().parent


def _head() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def _async_url(postgres_url: str) -> str:
    return postgres_url.replace("postgresql://", "postgresql+psycopg://", 1)


def _sync_url(url: str) -> str:
    return url.replace("+aiosqlite", "").replace("postgresql://", "postgresql+psycopg://", 1)


def _versions(url: str, table: str) -> list[str] | None:
    """The rows of ``table`` (``None`` when it does not exist)."""
    engine = sqlalchemy.create_engine(_sync_url(url))
    try:
        with engine.connect() as connection:
            if table not in sqlalchemy.inspect(connection).get_table_names():
                return None
            rows = connection.execute(sqlalchemy.text(f"SELECT version_num FROM {table}"))
            return sorted(rows.scalars())
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = sqlalchemy.create_engine(_sync_url(url))
    try:
        with engine.connect() as connection:
            return set(sqlalchemy.inspect(connection).get_table_names())
    finally:
        engine.dispose()


async def _init(url: str) -> None:
    engine = create_engine(url)
    try:
        await init_db(engine)
    finally:
        await engine.dispose()


async def _migrate_like_the_old_release(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run our real migrations into Alembic's default table, as releases before this one did."""
    with monkeypatch.context() as patch:
        patch.setattr(state.migrations, "VERSION_TABLE", "alembic_version")  # read by env.py
        await _init(url)
    assert _versions(url, "alembic_version") == [_head()]
    assert _versions(url, VERSION_TABLE) is None


async def _assert_moved_and_second_run_is_a_no_op(
    url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    await _migrate_like_the_old_release(url, monkeypatch)
    await _init(url)
    assert _versions(url, VERSION_TABLE) == [_head()]
    assert _versions(url, "alembic_version") == []  # our row moved; the table is left
    assert set(Base.metadata.tables) <= _tables(url)

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="alembic"):
        await _init(url)
    ran = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Running")]
    assert ran == []
    assert _versions(url, VERSION_TABLE) == [_head()]
    assert _versions(url, "alembic_version") == []


@pytest.mark.postgres
async def test_another_applications_alembic_revision_is_left_alone_on_postgres(
    postgres_url: str,
) -> None:
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        # What Aegra's Alembic writes: its own revision, here one whose id we also use.
        conn.execute(
            "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL,"
            " CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
        )
        conn.execute("INSERT INTO alembic_version (version_num) VALUES ('0004')")
    url = _async_url(postgres_url)

    await _init(url)

    assert set(Base.metadata.tables) <= _tables(url)
    assert _versions(url, "alembic_version") == ["0004"]
    assert _versions(url, VERSION_TABLE) == [_head()]
    await _init(url)  # and both keep starting
    assert _versions(url, "alembic_version") == ["0004"]
    assert _versions(url, VERSION_TABLE) == [_head()]


@pytest.mark.postgres
async def test_a_foreign_revision_unknown_to_us_is_left_alone_on_postgres(
    postgres_url: str,
) -> None:
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version (version_num) VALUES ('a1b2c3d4e5f6')")
    url = _async_url(postgres_url)

    await _init(url)

    assert set(Base.metadata.tables) <= _tables(url)
    assert _versions(url, "alembic_version") == ["a1b2c3d4e5f6"]
    assert _versions(url, VERSION_TABLE) == [_head()]


@pytest.mark.postgres
async def test_a_database_of_the_old_release_moves_its_revision_on_postgres(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    await _assert_moved_and_second_run_is_a_no_op(_async_url(postgres_url), monkeypatch, caplog)


async def test_a_database_of_the_old_release_moves_its_revision_on_sqlite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'support.db'}"
    await _assert_moved_and_second_run_is_a_no_op(url, monkeypatch, caplog)


async def test_an_old_release_behind_head_is_moved_then_upgraded_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'support.db'}"
    engine = sqlalchemy.create_engine(_sync_url(url))
    try:
        with engine.begin() as connection:
            # The old release at 0001 (knowledge base only), beside another app's revision.
            Base.metadata.tables["kb_documents"].create(connection)
            Base.metadata.tables["kb_collections"].create(connection)
            connection.execute(
                sqlalchemy.text(
                    "CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"
                )
            )
            connection.execute(
                sqlalchemy.text("INSERT INTO alembic_version VALUES ('0001'), ('ffee00112233')")
            )
    finally:
        engine.dispose()

    await _init(url)

    assert set(Base.metadata.tables) <= _tables(url)
    assert _versions(url, VERSION_TABLE) == [_head()]
    assert _versions(url, "alembic_version") == ["ffee00112233"]


def test_offline_sql_uses_our_version_table() -> None:
    import io
    import re

    from alembic import command

    out = io.StringIO()
    config = Config(output_buffer=out)
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", "postgresql+psycopg://offline/none")
    command.upgrade(config, "head", sql=True)
    sql = out.getvalue()
    assert f"CREATE TABLE {VERSION_TABLE}" in sql
    assert re.search(r"\balembic_version\b", sql) is None
