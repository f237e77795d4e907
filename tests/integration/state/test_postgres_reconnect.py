"""The Postgres checkpointer after the database dropped its connections (no ping per use).

Each test terminates every backend of its database between operations, as a restart, a
failover or an idle timeout does, and the next operation must still work.
"""

from __future__ import annotations

import operator
from typing import Annotated, TypedDict

import psycopg
import pytest
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.graph import END, START, StateGraph

from state import open_checkpointer

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


class Notes(TypedDict):
    notes: Annotated[list[str], operator.add]


def _graph(saver):
    builder = StateGraph(Notes)
    builder.add_node("echo", lambda state: {"notes": [f"seen {len(state['notes'])}"]})
    builder.add_edge(START, "echo")
    builder.add_edge("echo", END)
    return builder.compile(checkpointer=saver)


async def _drop_connections(postgres_server: str, postgres_url: str) -> None:
    database = postgres_url.rsplit("/", 1)[1]
    async with await psycopg.AsyncConnection.connect(postgres_server, autocommit=True) as admin:
        cursor = await admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        )
        assert (await cursor.fetchone())[0] >= 1  # the pool had a connection to lose


async def test_every_checkpoint_operation_carries_on_after_the_connections_drop(
    postgres_url, postgres_server, make_settings
):
    settings = make_settings(checkpointer="postgres", postgres_url=postgres_url)
    config = {"configurable": {"thread_id": "t1"}}
    async with open_checkpointer(settings) as saver:
        graph = _graph(saver)
        await graph.ainvoke({"notes": ["first"]}, config, durability="async")

        await _drop_connections(postgres_server, postgres_url)  # read, then writes
        second = await graph.ainvoke({"notes": ["second"]}, config, durability="async")
        assert second["notes"] == ["first", "seen 1", "second", "seen 3"]

        await _drop_connections(postgres_server, postgres_url)  # history
        history = [snapshot async for snapshot in graph.aget_state_history(config)]
        assert history[0].values["notes"] == second["notes"]
        assert len(history) == 6  # three checkpoints a turn (input, start, echo), two turns

        await _drop_connections(postgres_server, postgres_url)  # delete
        await saver.adelete_thread("t1")
        assert await saver.aget_tuple(config) is None


async def test_the_stock_saver_fails_where_ours_carries_on(
    postgres_url, postgres_server, make_settings
):
    """Why ``ReconnectingPostgresSaver`` exists: the same pool without it loses the turn."""
    settings = make_settings(checkpointer="postgres", postgres_url=postgres_url)
    config = {"configurable": {"thread_id": "t1"}}
    async with open_checkpointer(settings) as saver:
        stock = AsyncPostgresSaver(saver.conn)
        await _graph(stock).ainvoke({"notes": ["first"]}, config)
        await _drop_connections(postgres_server, postgres_url)
        with pytest.raises(psycopg.OperationalError):
            await _graph(stock).ainvoke({"notes": ["second"]}, config)
