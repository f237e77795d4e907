"""``retrieve`` and ``remember`` run side by side: both contribute, either may fail alone."""

from __future__ import annotations

import pytest

import graph.nodes.turn_query as turn_query
from graph.builder import build_graph

pytestmark = pytest.mark.integration


def test_guard_fans_out_to_search_and_memory_and_route_joins_them():
    edges = {(e.source, e.target) for e in build_graph().compile().get_graph().edges}
    assert {("guard", "retrieve"), ("guard", "remember")} <= edges
    assert {("retrieve", "route"), ("remember", "route")} <= edges
    assert ("retrieve", "remember") not in edges


async def test_both_branches_contribute_and_recall_uses_the_searched_query(
    sample_agent, monkeypatch
):
    formed: list[str] = []
    recalled_by: list[str] = []
    form = turn_query.standalone_query

    async def counted(*args, **kwargs):
        formed.append(query := await form(*args, **kwargs))
        return query

    memory = sample_agent.services.memory
    remember_and_recall = memory.remember_and_recall

    async def spied(tenant_id, user_id, candidates, query, **where):
        recalled_by.append(query)
        return await remember_and_recall(tenant_id, user_id, candidates, query, **where)

    monkeypatch.setattr(turn_query, "standalone_query", counted)
    monkeypatch.setattr(memory, "remember_and_recall", spied)
    first = await sample_agent.ask(
        "I'm on the Pro plan. My Lumora Lock bolt is jammed", user_id="ida"
    )
    follow = await sample_agent.ask(
        "What batteries does it take?", thread_id=first.thread_id, user_id="ida"
    )
    assert follow.outcome == "answered"
    assert follow.citations[0]["doc_id"] == "troubleshooting/lock-battery-and-jammed-lock.md"
    assert "On the Pro plan" in follow.memories_used  # remember's half of the turn
    assert len(formed) == 2  # once per turn, for both branches
    assert recalled_by == [first.query, follow.query]  # the query the search used


async def test_a_failed_branch_leaves_a_consistent_turn_and_the_next_turn_starts_clean(
    sample_agent, monkeypatch
):
    async def broken(*args, **kwargs):
        raise ConnectionError("down")

    monkeypatch.setattr(sample_agent.services.memory, "remember_and_recall", broken)
    monkeypatch.setattr(sample_agent.services.kb, "search", broken)
    both = await sample_agent.ask("How do I reset my password?", user_id="jo")
    assert set(both.degraded.split(",")) == {"kb_unavailable", "memory_unavailable"}
    assert both.outcome in {"answered", "abstained"}  # BM25 answered or not: a reply either way
    assert both.answer

    monkeypatch.undo()
    clean = await sample_agent.ask(
        "How do I reset my password?", thread_id=both.thread_id, user_id="jo"
    )
    assert clean.degraded is None  # the guard reset what the last turn reported
    assert clean.citations[0]["doc_id"] == "accounts/reset-your-password.md"


async def test_a_turn_embeds_everything_it_needs_in_one_model_call(sample_agent):
    """The query, its asking sentences, a follow-up's own words (read by route) and the
    facts to remember: one ``model.encode``, not one after the other on the turn's path."""
    embeddings = sample_agent.services.embeddings
    first = await sample_agent.ask("My Lumora Lock bolt is jammed", user_id="kai")
    turns = [
        # a follow-up (its query is rewritten from the conversation) stating a fact
        ("I'm on the Pro plan. What batteries does it take?", first.thread_id),
        # a story and a question (its asking sentence is embedded too), stating a fact
        ("I bought a Lumora Bulb two weeks ago and don't want it any more. Can I return it?", None),
    ]
    for message, thread_id in turns:
        embeddings.reset_cache()
        calls = embeddings.encode_calls
        turn = await sample_agent.ask(message, thread_id=thread_id, user_id="kai")
        assert turn.memories_used, message  # a fact was stored this turn
        assert embeddings.encode_calls == calls + 1, message
    assert turn.outcome == "answered"
