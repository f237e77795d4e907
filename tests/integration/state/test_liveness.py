"""Pooled connections the server closed are replaced on checkout, without a ping per checkout
(the checkpointer's psycopg pool and the application engine), on a real Postgres."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import text

from state import create_engine
from state.liveness import check_psycopg_connection, closed_by_server

pytestmark = pytest.mark.integration


async def _terminate(admin_url: str, pid: int) -> None:
    """End a backend as an administrator (or a restart) would; return once it is gone."""
    async with await psycopg.AsyncConnection.connect(admin_url, autocommit=True) as admin:
        await admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))
    await asyncio.sleep(0.05)  # its farewell crosses the loopback


async def test_an_open_connection_passes_and_a_closed_one_is_seen(postgres_url, postgres_server):
    async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as conn:
        assert not closed_by_server(conn)
        await _terminate(postgres_server, conn.info.backend_pid)
        assert closed_by_server(conn)


async def test_the_checkpointer_pool_replaces_a_terminated_connection(
    postgres_url, postgres_server, monkeypatch
):
    pool = AsyncConnectionPool(
        postgres_url,
        min_size=1,
        max_size=1,
        open=False,
        check=check_psycopg_connection,
        kwargs={"autocommit": True},
    )
    await pool.open(wait=True)
    try:
        async with pool.connection() as conn:
            first = conn.info.backend_pid
        # A checkout asks the server nothing: no statement runs before the caller's own.
        executed: list[str] = []
        real = psycopg.AsyncConnection.execute

        async def counting(self, query, *args, **kwargs):
            executed.append(str(query))
            return await real(self, query, *args, **kwargs)

        monkeypatch.setattr(psycopg.AsyncConnection, "execute", counting)
        async with pool.connection() as conn:
            assert conn.info.backend_pid == first
        assert executed == []
        await _terminate(postgres_server, first)
        async with pool.connection() as conn:
            assert conn.info.backend_pid != first
            await conn.execute("SELECT 1")
    finally:
        await pool.close()


async def test_the_application_engine_replaces_a_terminated_connection(
    postgres_url, postgres_server
):
    engine = create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        async with engine.connect() as conn:
            first = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        await _terminate(postgres_server, first)
        async with engine.connect() as conn:
            again = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        assert again != first
    finally:
        await engine.dispose()
