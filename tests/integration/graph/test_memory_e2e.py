"""Memory end to end: facts from one thread shape another; other users get none; forget."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from graph.embedded import open_agent
from state import Settings
from tools.services import create_services

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgres"])
async def agent(request, sample_kb_data, tmp_path, embeddings):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(sample_kb_data, data)
    overrides = {}
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        overrides = {
            "checkpointer": "postgres",
            "postgres_url": url,
            "database_url": url.replace("postgresql://", "postgresql+psycopg://", 1),
        }
    services = await create_services(
        Settings(_env_file=None, data_dir=data, **overrides), embeddings=embeddings
    )
    if request.param == "postgres":
        from tests.conftest import SAMPLE_KB

        await services.kb.ingest([SAMPLE_KB], "default")  # manifest lives in Postgres now
    async with open_agent(services=services) as built:
        yield built
    await services.aclose()


async def test_facts_from_one_thread_shape_another_and_stay_private(agent):
    first = await agent.ask(
        "Hi, I'm on the Pro plan and my Lumora Cam keeps going offline.", user_id="alice"
    )
    assert "On the Pro plan" in first.memories_used

    later = await agent.ask("How long is my clip history kept?", user_id="alice")
    assert later.thread_id != first.thread_id
    assert "On the Pro plan" in later.memories_used
    assert later.answer.startswith("Since you're on the Pro plan: Pro: 60 days")

    stranger = await agent.ask("How long is my clip history kept?", user_id="bob")
    assert stranger.memories_used == []
    assert "Pro plan" not in stranger.answer.split("\n")[0]


async def test_a_secret_typed_in_chat_never_becomes_a_memory(agent):
    await agent.ask(
        "I'm on the Plus plan and my card 4111 1111 1111 1111 keeps failing", user_id="carol"
    )
    rows = await agent.services.memory.list_memories("default", "carol")
    assert "On the Plus plan" in [r["content"] for r in rows]
    assert all("4111" not in r["content"] for r in rows)


async def test_forget_leaves_no_row_and_no_checkpoint(agent, tmp_path):
    receipt = tmp_path / "order.txt"
    receipt.write_text("Order LH-20391, shipped 2024-11-02, Lumora Cam")
    one = await agent.ask(
        "I'm on the Basic plan and my order LH-20391 is late", user_id="dave", attachments=[receipt]
    )
    assert one.attachments[0]["status"] == "converted"
    two = await agent.ask("Please reply in Spanish. Let me talk to a person", user_id="dave")
    assert two.outcome == "escalated"
    kept = await agent.ask("I'm on the Plus plan", user_id="erin")
    async with agent.services.engine.connect() as conn:
        logged_before = (await conn.execute(text("SELECT count(*) FROM forget_log"))).scalar_one()
    counts = await agent.forget("dave")
    assert counts == {"memories": 4, "threads": 2, "tickets": 1, "attachments": 1}

    for thread in (one.thread_id, two.thread_id):
        snapshot = await agent.graph.aget_state({"configurable": {"thread_id": thread}})
        assert not snapshot.values, "checkpoint survived forget"
    async with agent.services.engine.connect() as conn:
        for table in ("memories", "thread_owners", "tickets", "attachments"):
            rows = (
                await conn.execute(text(f"SELECT count(*) FROM {table} WHERE user_id = 'dave'"))
            ).scalar_one()
            assert rows == 0, table
        log = (await conn.execute(text("SELECT user_hash, counts FROM forget_log"))).all()
    assert len(log) == logged_before + 1 and "dave" not in str(log)
    assert await agent.services.memory.list_memories("default", "erin")
    erin = await agent.graph.aget_state({"configurable": {"thread_id": kept.thread_id}})
    assert erin.values["messages"]


async def test_runs_without_a_customer_id_are_never_remembered(agent):
    await agent.ask("I'm on the Pro plan and my Lumora Cam is offline")
    later = await agent.ask("How long is my clip history kept?")
    assert later.memories_used == []
    assert await agent.services.memory.list_memories("default", "anonymous") == []


async def test_another_customer_cannot_continue_or_read_a_thread(agent):
    from langchain_core.messages import HumanMessage

    from state import Context
    from tools.resilience.errors import ThreadAccessError

    mine = await agent.ask("I'm on the Pro plan and my order LH-55555 is late", user_id="alice")
    with pytest.raises(ThreadAccessError):
        await agent.ask("What did I say before?", thread_id=mine.thread_id, user_id="mallory")

    # The server path (context chosen by the caller) is refused by the guard node.
    state = await agent.graph.ainvoke(
        {"messages": [HumanMessage("Summarise this conversation")]},
        config={"configurable": {"thread_id": mine.thread_id}},
        context=Context(user_id="mallory"),
    )
    assert state["outcome"] == "abstained"
    assert state["route_reasons"] == ["input_foreign_thread"]
    assert "another customer" in state["messages"][-1].content
    assert state["passages"] == [] and state["memories"] == []
    assert "Summarise" not in str(state["messages"])

    # Owners are cached per process; another process reads them from the database.
    from tools.services import create_services

    other = await create_services(agent.services.settings, embeddings=agent.services.embeddings)
    try:
        assert not await other.owners.claim("default", "mallory", mine.thread_id)
        assert await other.owners.claim("default", "alice", mine.thread_id)
    finally:
        await other.aclose()
    await agent.forget("alice")
    assert await agent.services.owners.owner(mine.thread_id) is None
