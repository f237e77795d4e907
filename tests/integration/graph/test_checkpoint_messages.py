"""``SUPPORT_CHECKPOINT_MESSAGES=delta`` on the real graph: Postgres, retention, the servers.

With ``delta`` a turn writes only its new messages (plus a snapshot of the list every
``checkpoint_messages_snapshot_every`` updates), so the bytes a turn writes do not grow
with the thread; the conversation reads back the same, a thread can switch between
``full`` and ``delta`` either way, retention deletes such threads, and both servers
(``langgraph dev`` and Aegra on Postgres) serve the whole list through the API.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import psycopg
import pytest

from graph.embedded import open_agent
from graph.retention import prune_threads
from state import Settings
from tests.servers import SERVERS, serve_fresh, token
from tools.services import create_services

pytestmark = pytest.mark.integration

QUESTIONS = [
    "How do I reset my password?",
    "How do refunds work for my order?",
    "Can I change my shipping address?",
    "What payment methods do you accept?",
    "How do I cancel my subscription?",
    "Where is my invoice?",
]

MESSAGE_BYTES = """
SELECT (SELECT coalesce(sum(octet_length(blob)), 0) FROM checkpoint_blobs
         WHERE thread_id = %(t)s AND channel = 'messages')
     + (SELECT coalesce(sum(octet_length(blob)), 0) FROM checkpoint_writes
         WHERE thread_id = %(t)s AND channel = 'messages')
"""
ROWS = """
SELECT (SELECT count(*) FROM checkpoints WHERE thread_id = %(t)s)
     + (SELECT count(*) FROM checkpoint_blobs WHERE thread_id = %(t)s)
     + (SELECT count(*) FROM checkpoint_writes WHERE thread_id = %(t)s)
"""


@pytest.fixture
async def services(sample_kb_data, embeddings, postgres_url):
    settings = Settings(
        _env_file=None,
        data_dir=sample_kb_data,
        checkpointer="postgres",
        postgres_url=postgres_url,
        memory_enabled=False,  # the same answers in every thread
    )
    built = await create_services(settings, embeddings=embeddings)
    try:
        yield built
    finally:
        await built.aclose()


def _scalar(url: str, sql: str, thread_id: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(sql, {"t": thread_id}).fetchone()
        assert row is not None
        return int(row[0])


async def _messages(agent: Any, thread_id: str) -> list[tuple[str, str, str | None]]:
    state = await agent.graph.aget_state({"configurable": {"thread_id": thread_id}})
    return [(m.type, m.text, m.id) for m in state.values.get("messages", [])]


async def test_delta_turns_write_the_same_bytes_late_in_a_thread(services, postgres_url):
    """Turn 24 writes as many message bytes as turn 4 with delta; with full, 6× as many."""
    services.settings.checkpoint_messages_snapshot_every = 1000  # no snapshot in this test
    written: dict[str, list[int]] = {}
    read_back: dict[str, list[tuple[str, str]]] = {}
    for storage in ("full", "delta"):
        services.settings.checkpoint_messages = storage  # type: ignore[assignment]
        thread = f"growth-{storage}-{uuid.uuid4().hex[:6]}"
        async with open_agent(services=services) as agent:
            before, per_turn = 0, []
            for i in range(24):
                await agent.ask(QUESTIONS[i % len(QUESTIONS)], thread_id=thread, user_id="grow")
                now = _scalar(postgres_url, MESSAGE_BYTES, thread)
                per_turn.append(now - before)
                before = now
            written[storage] = per_turn
            read_back[storage] = await agent.history(thread)
    full, delta = written["full"], written["delta"]
    assert full[23] > 4 * full[3]  # the whole list, every version
    assert delta[23] < 1.5 * delta[3]  # only the new messages
    assert delta[23] < full[23] / 5
    assert read_back["delta"] == read_back["full"] and len(read_back["delta"]) == 48


async def test_a_thread_switches_between_full_and_delta_either_way(services):
    """Each reopening with the other setting reads the same messages, ids included."""
    services.settings.checkpoint_messages_snapshot_every = 3  # snapshots and replays both
    thread = f"switch-{uuid.uuid4().hex[:6]}"
    seen: list[tuple[str, str, str | None]] = []
    for round_, storage in enumerate(["full", "delta", "full", "delta", "delta"]):
        services.settings.checkpoint_messages = storage  # type: ignore[assignment]
        async with open_agent(services=services) as agent:
            assert await _messages(agent, thread) == seen, (round_, storage)
            for question in QUESTIONS[round_ : round_ + 2]:
                await agent.ask(question, thread_id=thread, user_id="switch")
            now = await _messages(agent, thread)
            assert now[: len(seen)] == seen and len(now) == len(seen) + 4
            seen = now
    assert len(seen) == 20 and [t for t, _, _ in seen] == ["human", "ai"] * 10


async def test_retention_deletes_delta_threads(services, postgres_url):
    services.settings.checkpoint_messages = "delta"
    services.settings.checkpoint_messages_snapshot_every = 2
    async with open_agent(services=services) as agent:
        idle = (await agent.ask(QUESTIONS[0], user_id="kept-briefly")).thread_id
        for question in QUESTIONS[1:4]:
            await agent.ask(question, thread_id=idle, user_id="kept-briefly")
        assert _scalar(postgres_url, ROWS, idle) > 0
        # The saver's own keep_latest prune refuses such threads: retention deletes whole
        # threads instead (if an upgrade lifts this, README's "Checkpoint growth" changes).
        with pytest.raises(NotImplementedError, match="DeltaChannel"):
            await agent.checkpointer.aprune([idle], strategy="keep_latest")
        assert len(await agent.history(idle)) == 8  # the refusal changed nothing
        await asyncio.sleep(1.5)
        recent = (await agent.ask(QUESTIONS[4], user_id="someone-else")).thread_id
        counts = await prune_threads(services, agent.checkpointer, older_than_days=1.0 / 86400)
        assert counts["pruned"] >= 1
        assert _scalar(postgres_url, ROWS, idle) == 0
        assert await agent.history(idle) == []
        assert len(await agent.history(recent)) == 2


@pytest.fixture(scope="module", params=SERVERS)
def delta_server(request, sample_kb_data, tmp_path_factory, postgres_server):
    root = tmp_path_factory.mktemp(f"delta-{request.param}")
    with serve_fresh(
        request.param,
        sample_kb_data,
        root,
        postgres_server,
        SUPPORT_CHECKPOINT_MESSAGES="delta",
        SUPPORT_CHECKPOINT_MESSAGES_SNAPSHOT_EVERY="2",
    ) as running:
        yield running


async def test_the_servers_show_the_whole_conversation_of_delta_threads(delta_server):
    customer = delta_server.client(token(f"delta-{uuid.uuid4().hex[:6]}"))
    thread = (await customer.threads.create())["thread_id"]
    for question in QUESTIONS[:4]:
        await customer.runs.wait(
            thread,
            "support_agent",
            input={"messages": [{"role": "user", "content": question}]},
        )
    state = await customer.threads.get_state(thread)
    messages = state["values"]["messages"]
    assert [m["type"] for m in messages] == ["human", "ai"] * 4
    assert [m["content"] for m in messages[::2]] == QUESTIONS[:4]
    history = await customer.threads.get_history(thread, limit=100)
    lengths = [len(h["values"].get("messages", [])) for h in history]
    assert lengths[0] == 8 and lengths == sorted(lengths, reverse=True)
    for h in history:  # every checkpoint holds a prefix of the conversation
        shown = h["values"].get("messages", [])
        assert [m["id"] for m in shown] == [m["id"] for m in messages[: len(shown)]]
    if delta_server.database_url:  # Aegra: the server's own saver stored deltas
        with psycopg.connect(delta_server.database_url) as conn:
            stored = conn.execute(
                "SELECT count(*) FILTER (WHERE metadata ? 'counters_since_delta_snapshot'),"
                " count(*) FROM checkpoints WHERE thread_id = %s",
                (thread,),
            ).fetchone()
        assert stored is not None and stored[0] > 0 and stored[1] > 0
