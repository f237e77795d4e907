"""Any input shape gets a reply, and escalation cannot be used to flood the helpdesk."""

from __future__ import annotations

import uuid

import pytest

from graph.embedded import open_agent
from state import EscalationPolicy, Settings
from tools.services import create_services

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "message",
    [
        ["How do I reset my password?", 3, None],
        [None],
        42,
        None,
        [["nested"]],
        [{"x": 1}],
        [{"type": []}],
        [{"type": {"type": "text", "text": "hi"}}],
    ],
)
async def test_any_message_shape_gets_a_reply_not_an_exception(sample_agent, message):
    result = await sample_agent.ask(message, user_id=f"shape-{uuid.uuid4().hex[:6]}")
    assert result.answer.strip()
    assert result.outcome in {"answered", "abstained"}
    history = await sample_agent.history(result.thread_id)
    assert [role for role, _ in history] == ["human", "ai"]  # no question left unanswered


async def test_one_word_in_capitals_is_not_a_ticket(sample_agent):
    for word in ("REFUND", "PASSWORD", "HELLO"):
        result = await sample_agent.ask(word, user_id="caps-user")
        assert result.outcome != "escalated", word


async def test_a_customer_cannot_open_more_tickets_than_the_hourly_limit(
    sample_kb_data, embeddings
):
    settings = Settings(
        _env_file=None, data_dir=sample_kb_data, escalation=EscalationPolicy(tickets_per_hour=2)
    )
    services = await create_services(settings, embeddings=embeddings)
    user = f"flood-{uuid.uuid4().hex[:6]}"
    try:
        async with open_agent(services=services) as agent:
            opened = [await agent.ask("I need to talk to a person, please.", user_id=user)]
            opened.append(await agent.ask("Let me speak to a human agent now.", user_id=user))
            assert [r.outcome for r in opened] == ["escalated", "escalated"]
            third = await agent.ask("Get me a real person!", user_id=user)
            assert third.outcome == "abstained"
            assert "ticket_limit" in third.route_reasons
            latest = opened[-1].escalation["ticket_id"]
            assert f"ticket #{latest}" in third.answer
            mine = [t for t in await services.tickets.list("default") if t["user_id"] == user]
            assert len(mine) == 2
            state = await agent.graph.aget_state({"configurable": {"thread_id": third.thread_id}})
            assert not state.next  # not waiting for a human: no ticket was opened for it
            other = await agent.ask("I want a human.", user_id=f"{user}-other")
            assert other.outcome == "escalated"  # the limit is per customer
    finally:
        await services.aclose()
