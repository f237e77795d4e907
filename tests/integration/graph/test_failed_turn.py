"""A turn that fails after its message was checkpointed leaves no question unanswered."""

from __future__ import annotations

import pytest

from graph.embedded import SupportAgent, open_agent
from state import Settings
from tools.services import create_services

pytestmark = pytest.mark.integration


@pytest.fixture
async def agent(sample_kb_data, embeddings):
    services = await create_services(
        Settings(_env_file=None, data_dir=sample_kb_data), embeddings=embeddings
    )
    try:
        async with open_agent(services=services, checkpointer="memory") as built:
            yield built
    finally:
        await services.aclose()


@pytest.fixture
def route_fails(monkeypatch):
    """While set, the ``route`` node raises after guard, retrieve and remember ran."""
    import graph.nodes.route as route

    async def broken(*args, **kwargs):
        raise RuntimeError("a bug in routing")

    def fail() -> None:
        monkeypatch.setattr(route, "_intents", broken)

    return fail


async def test_the_runner_drops_the_message_of_a_turn_that_failed(agent, route_fails, monkeypatch):
    first = await agent.ask("How long do refunds take?", user_id="u-failed")
    route_fails()
    with pytest.raises(RuntimeError, match="a bug in routing"):
        await agent.ask("And to PayPal?", thread_id=first.thread_id, user_id="u-failed")
    assert [role for role, _ in await agent.history(first.thread_id)] == ["human", "ai"]
    monkeypatch.undo()
    again = await agent.ask("And to PayPal?", thread_id=first.thread_id, user_id="u-failed")
    assert again.outcome == "answered"
    history = await agent.history(first.thread_id)
    assert [role for role, _ in history] == ["human", "ai", "human", "ai"]
    assert history[2] == ("human", "And to PayPal?")


async def test_the_next_turn_drops_what_a_failed_turn_left_when_it_could_not(
    agent, route_fails, monkeypatch
):
    """The store was down during the repair (or a server's run failed): the guard does it."""
    first = await agent.ask("How long do refunds take?", user_id="u-failed-2")

    async def store_down(self, config, message_id):
        return None

    monkeypatch.setattr(SupportAgent, "_drop_failed_turn", store_down)
    route_fails()
    with pytest.raises(RuntimeError):
        await agent.ask("And to PayPal?", thread_id=first.thread_id, user_id="u-failed-2")
    held = await agent.history(first.thread_id)
    assert [role for role, _ in held] == ["human", "ai", "human"]  # the failure's leftover
    monkeypatch.undo()
    again = await agent.ask("Refunds to PayPal?", thread_id=first.thread_id, user_id="u-failed-2")
    assert again.outcome == "answered"
    history = await agent.history(first.thread_id)
    assert [role for role, _ in history] == ["human", "ai", "human", "ai"]
    assert history[2] == ("human", "Refunds to PayPal?")
    assert again.answer == history[3][1]


async def test_imported_history_is_never_taken_for_a_failed_turn(agent):
    thread = "imported-two-user-turns"
    await agent.import_history(
        thread, [("user", "Hello?"), ("user", "Anyone there? About refunds.")], user_id="u-imp"
    )
    result = await agent.ask("How long do they take?", thread_id=thread, user_id="u-imp")
    assert result.outcome == "answered"
    roles = [role for role, _ in await agent.history(thread)]
    assert roles == ["human", "human", "human", "ai"]  # both imported turns kept


async def test_several_messages_sent_in_one_run_are_one_turn(agent):
    """A client may send more than one customer message in a run: none is a failed turn."""
    from state import Context

    config = {"configurable": {"thread_id": "two-at-once"}}
    messages = [
        {"role": "user", "content": "My order arrived damaged."},
        {"role": "user", "content": "How do I get a refund?"},
    ]
    await agent.graph.ainvoke(
        {"messages": messages}, config=config, context=Context(user_id="u-two")
    )
    roles = [role for role, _ in await agent.history("two-at-once")]
    assert roles == ["human", "human", "ai"]


async def test_a_message_written_with_update_state_is_kept(agent):
    thread = "written-by-a-client"
    first = await agent.ask("How long do refunds take?", thread_id=thread, user_id="u-upd")
    from langchain_core.messages import HumanMessage

    config = {"configurable": {"thread_id": first.thread_id}}
    await agent.graph.aupdate_state(
        config, {"messages": [HumanMessage("noted by the client")]}, as_node="abstain"
    )
    await agent.ask("And to PayPal?", thread_id=thread, user_id="u-upd")
    roles = [role for role, _ in await agent.history(thread)]
    assert roles == ["human", "ai", "human", "human", "ai"]
