"""Checkpointer factory: where every conversation step is persisted.

``memory`` for tests, ``sqlite`` for the embedded default, ``postgres`` for
production. The Postgres saver runs on a psycopg pool without prepared statements
(PgBouncer in transaction mode works) and survives connections the database dropped
by running an operation once more (``state.postgres_saver``), not by a ping each time.
The graph served by ``langgraph.json`` never uses this: the server brings its own
checkpointer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver

from state.settings import CheckpointerKind, Settings

__all__ = ["open_checkpointer"]


@asynccontextmanager
async def open_checkpointer(
    settings: Settings, kind: CheckpointerKind | None = None
) -> AsyncIterator[BaseCheckpointSaver[str]]:
    """Open the configured checkpointer, set up its tables once, close it on exit."""
    kind = kind or settings.checkpointer
    if kind == "memory":
        yield InMemorySaver()
    elif kind == "sqlite":
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        path = settings.checkpoint_path
        path.parent.mkdir(parents=True, exist_ok=True)
        async with AsyncSqliteSaver.from_conn_string(str(path)) as saver:
            await saver.setup()
            yield saver
    else:
        if settings.postgres_url is None:
            raise ValueError("the Postgres checkpointer needs SUPPORT_POSTGRES_URL")
        async with _postgres_saver(
            settings.postgres_url.get_secret_value(), settings.postgres_pool_size
        ) as saver:
            yield saver


# The saver runs one statement at a time (its own lock), so a wait for a connection
# only ever times a database that is down: each of a cut turn's remaining writes waits
# this long in turn. 2 s covers the pool's next dial once the database is back.
_POOL_WAIT_S = 2.0
_CONNECT_TIMEOUT_S = 3
_RECONNECT_S = 1.0


@asynccontextmanager
async def _postgres_saver(url: str, pool_size: int) -> AsyncIterator[BaseCheckpointSaver[str]]:
    from psycopg.rows import dict_row
    from psycopg_pool import AsyncConnectionPool

    from state.postgres_saver import ReconnectingPostgresSaver

    pool = AsyncConnectionPool(
        conninfo=url,
        min_size=1,
        max_size=pool_size,
        open=False,
        timeout=_POOL_WAIT_S,  # during an outage a turn fails fast, not after 30 s
        kwargs={
            "autocommit": True,
            "prepare_threshold": None,
            "row_factory": dict_row,
            "connect_timeout": _CONNECT_TIMEOUT_S,
        },
    )
    await pool.open(wait=True, timeout=10)  # a database still starting is waited for
    # Then give up reconnecting after a second: the next request dials at once, instead
    # of waiting out a backoff (1, 2, 4, 8 s...) grown during an outage.
    pool.reconnect_timeout = _RECONNECT_S
    try:
        saver = ReconnectingPostgresSaver(pool)  # type: ignore[arg-type]
        await saver.setup()
        yield saver
    finally:
        await pool.close()
