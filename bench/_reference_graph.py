"""The least a checkpointed LangGraph turn costs on this machine: graphs that only search.

``bench/turns.py`` compares each turn with the floor (one bare query embedding plus one
bare vector query). These graphs do nothing *but* the floor's work (``model.encode`` and
the Chroma query on the text the floor embeds, in a thread as the agent does), with
``MessagesState`` only, checkpointed by a saver set up exactly as the agent's
(``state.checkpoint.open_checkpointer``: a pool, no prepared statements), so that only
the graph differs:

- ``one node``: the search, then a reply; the least any checkpointed turn costs;
- ``agent's shape``: the agent's steps (guard, then search and memory side by side,
  route, answer), every node empty but the search.

What they cost over the floor is LangGraph's and the checkpointer's share, which no node
code can remove; what the agent costs over the second is the project's own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Durability

from state.checkpoint import open_checkpointer
from tools.services import Services

SHAPES = ("one node", "agent's shape")


def build_reference(
    services: Callable[[], Awaitable[Services]], tenant: str, shape: str
) -> StateGraph[Any]:
    """The uncompiled graph of ``shape``, searching ``tenant``'s collection."""

    def floor_work(ready: Services, text: str) -> None:
        vector = ready.embeddings.model.encode(
            [text], normalize_embeddings=True, show_progress_bar=False, convert_to_numpy=True
        )
        ready.kb.chroma.query_blocking(
            tenant, vector, ready.settings.candidate_k, ["documents", "metadatas", "distances"]
        )

    async def nothing(state: MessagesState) -> dict[str, Any]:
        return {}

    async def search(state: MessagesState) -> dict[str, Any]:
        ready = await services()
        await ready.kb.warm_up(tenant)  # opens the collection once; then nothing
        await asyncio.to_thread(floor_work, ready, str(state["messages"][-1].content))
        return {}

    async def answer(state: MessagesState) -> dict[str, Any]:
        return {"messages": [AIMessage("reply")]}

    builder = StateGraph(MessagesState)
    if shape == "one node":

        async def search_and_answer(state: MessagesState) -> dict[str, Any]:
            await search(state)
            return await answer(state)

        builder.add_node("search_and_answer", search_and_answer)
        builder.add_edge(START, "search_and_answer")
        builder.add_edge("search_and_answer", END)
        return builder
    builder.add_node("guard", nothing)
    builder.add_node("retrieve", search)
    builder.add_node("remember", nothing)
    builder.add_node("route", nothing)
    builder.add_node("answer", answer)
    builder.add_edge(START, "guard")
    builder.add_edge("guard", "retrieve")
    builder.add_edge("guard", "remember")
    builder.add_edge(["retrieve", "remember"], "route")
    builder.add_edge("route", "answer")
    builder.add_edge("answer", END)
    return builder


@asynccontextmanager
async def reference_graphs(
    services: Services, tenant: str
) -> AsyncIterator[dict[str, CompiledStateGraph[Any, Any, Any, Any]]]:
    """Each shape's graph, on a Postgres saver of its own set up as the agent's is."""

    async def ready() -> Services:
        return services

    async with open_checkpointer(services.settings, "postgres") as saver:
        yield {
            shape: build_reference(ready, tenant, shape).compile(checkpointer=saver, name=shape)
            for shape in SHAPES
        }


async def reference_turn(
    graph: CompiledStateGraph[Any, Any, Any, Any],
    message: str,
    thread_id: str,
    durability: Durability,
) -> None:
    """One turn of a reference graph on its own copy of the agent's thread ``thread_id``."""
    await graph.ainvoke(
        {"messages": [HumanMessage(message)]},
        {"configurable": {"thread_id": f"reference-{graph.get_name()}-{thread_id}"}},
        durability=durability,
    )
