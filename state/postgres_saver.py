"""``AsyncPostgresSaver`` that survives connections the database dropped, without a ping.

Checking every pooled connection before use (``AsyncConnectionPool.check_connection``)
costs a round trip per checkpoint operation, about ten per turn. Instead, an operation
that fails because its connection was lost (a restart, an idle timeout, a terminated
backend) has the pool check its idle connections and runs once more on a live one.
That is safe because every operation is idempotent: reads, upserts of checkpoints and
writes keyed by their ids, and deletes. Any other error, and a second failure, propagate.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import psycopg
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    DeltaChannelHistory,
)
from langgraph.checkpoint.base import CheckpointTuple as Tuple
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg_pool import AsyncConnectionPool, PoolClosed, PoolTimeout, TooManyRequests

__all__ = ["ReconnectingPostgresSaver", "connection_lost"]

T = TypeVar("T")

# SQLSTATE classes of a connection that is gone: 08 connection exception, 57P operator
# intervention (shutdown, terminated backend); a client-side loss has no SQLSTATE at all.
_LOST = ("08", "57P")


def connection_lost(error: BaseException) -> bool:
    """Whether ``error`` says the connection itself is gone (not the statement failing).

    Not the pool's own errors (also ``OperationalError``s): a pool that has no connection
    to give is a database that is down, and waiting for it once more doubles the outage.
    """
    if not isinstance(error, psycopg.OperationalError):
        return False
    if isinstance(error, PoolTimeout | PoolClosed | TooManyRequests):
        return False
    state = error.sqlstate
    return state is None or state.startswith(_LOST)


class ReconnectingPostgresSaver(AsyncPostgresSaver):
    """The stock saver on a pool, each operation retried once after a lost connection."""

    async def _again(self, operation: Callable[[], Awaitable[T]]) -> T:
        try:
            return await operation()
        except psycopg.OperationalError as error:
            if not connection_lost(error) or not isinstance(self.conn, AsyncConnectionPool):
                raise
            await self.conn.check()  # the idle connections killed with it are replaced too
            return await operation()

    async def aget_tuple(self, config: RunnableConfig) -> Tuple | None:
        """As ``AsyncPostgresSaver.aget_tuple``, once more after a lost connection."""
        read = super().aget_tuple
        return await self._again(lambda: read(config))

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """As ``AsyncPostgresSaver.aput`` (an upsert), once more after a lost connection."""
        put = super().aput
        return await self._again(lambda: put(config, checkpoint, metadata, new_versions))

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """As ``AsyncPostgresSaver.aput_writes`` (keyed by task and index), once more."""
        put = super().aput_writes
        await self._again(lambda: put(config, writes, task_id, task_path))

    async def adelete_thread(self, thread_id: str) -> None:
        """As ``AsyncPostgresSaver.adelete_thread``, once more after a lost connection."""
        delete = super().adelete_thread
        await self._again(lambda: delete(thread_id))

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """As ``AsyncPostgresSaver.aprune``, once more after a lost connection."""
        prune = super().aprune
        await self._again(lambda: prune(thread_ids, strategy=strategy))

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        """As the stock saver's (delta-stored messages), once more after a lost connection."""
        read = super().aget_delta_channel_history
        return await self._again(lambda: read(config=config, channels=channels))

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[Tuple]:
        """As ``AsyncPostgresSaver.alist``; starts once more if the first row never came."""
        listing = super().alist
        started: list[AsyncIterator[Tuple]] = []

        async def first_row() -> Tuple | None:
            started.append(listing(config, filter=filter, before=before, limit=limit))
            return await anext(started[-1], None)

        first = await self._again(first_row)
        if first is None:
            return
        yield first
        async for row in started[-1]:
            yield row
