"""TurnQueries: the two branches of a turn share one query; a failure is not kept."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from langchain_core.messages import HumanMessage

import graph.nodes.turn_query as turn_query
from graph.nodes.turn_query import TurnQueries
from state import SupportState


class _KB:
    async def warm_up(self, tenant_id: str) -> None:
        return None

    def rarity(self, tenant_id: str):
        return lambda term: 0.0


SERVICES = SimpleNamespace(kb=_KB())


async def test_branches_asking_at_once_share_one_query(monkeypatch):
    calls: list[str] = []

    async def slow(services, model, turns, rarity):
        calls.append(turns[-1][1])
        await asyncio.sleep(0.01)
        return f"query for {turns[-1][1]}"

    monkeypatch.setattr(turn_query, "standalone_query", slow)
    queries = TurnQueries()
    state = SupportState(messages=[HumanMessage("how do refunds work", id="m1")])
    both = await asyncio.gather(
        queries.of(state, SERVICES, None, "t", "thread"),  # type: ignore[arg-type]
        queries.of(state, SERVICES, None, "t", "thread"),  # type: ignore[arg-type]
    )
    assert both == ["query for how do refunds work"] * 2
    assert calls == ["how do refunds work"]
    other = SupportState(messages=[HumanMessage("and abroad?", id="m2")])
    await queries.of(other, SERVICES, None, "t", "thread")  # type: ignore[arg-type]
    assert calls == ["how do refunds work", "and abroad?"]  # a new message: a new query


async def test_a_failed_query_is_formed_again_next_time(monkeypatch):
    outcomes = [RuntimeError("boom"), "fine"]

    async def flaky(services, model, turns, rarity):
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    monkeypatch.setattr(turn_query, "standalone_query", flaky)
    queries = TurnQueries()
    state = SupportState(messages=[HumanMessage("hello", id="m1")])
    with pytest.raises(RuntimeError):
        await queries.of(state, SERVICES, None, "t", "thread")  # type: ignore[arg-type]
    assert await queries.of(state, SERVICES, None, "t", "thread") == "fine"  # type: ignore[arg-type]
