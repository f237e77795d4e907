"""Whether a pooled Postgres connection is still open, answered without a round trip.

A ping on every checkout (SQLAlchemy's ``pool_pre_ping``, psycopg_pool's
``check_connection``) costs a round trip each time a turn takes a connection, about
a dozen times a turn. An idle connection the server has closed (a restart, an idle
timeout, ``pg_terminate_backend``) has something to read: the server's farewell, or
the end of the stream. One with nothing to read, while nothing was asked of it, is
as open as a ping would find it; a link cut without a word fails on its next query
either way (and the pool replaces it then).
"""

from __future__ import annotations

import select
from typing import Any

import psycopg
from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["check_on_checkout", "check_psycopg_connection", "closed_by_server"]


def closed_by_server(connection: Any) -> bool:
    """Whether an idle psycopg connection was closed by the server (or is unusable)."""
    if connection.closed or connection.broken:
        return True
    readable, _, _ = select.select([connection.pgconn.socket], [], [], 0)
    return bool(readable)


async def check_psycopg_connection(connection: psycopg.AsyncConnection[Any]) -> None:
    """psycopg_pool's ``check``: close and refuse a connection the server has closed.

    Closed first, so the pool drops it instead of handing it out again.
    """
    if closed_by_server(connection):
        await connection.close()
        raise psycopg.OperationalError("the server closed this pooled connection")


def check_on_checkout(engine: AsyncEngine) -> None:
    """Make ``engine``'s pool refuse connections the server has closed.

    As ``pool_pre_ping`` does, without its round trip: SQLAlchemy invalidates the
    connection and takes another.
    """

    @event.listens_for(engine.sync_engine, "checkout")
    def refuse_closed(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if closed_by_server(dbapi_connection.driver_connection):
            raise DisconnectionError("the server closed this pooled connection")
