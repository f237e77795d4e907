"""How checkpoints store the conversation: ``full`` or ``delta`` (``state_schemas``).

A toy graph on the project's own schemas (no model, no services): a thread written
one way reads back, and continues, the other way, with the same messages, on the
in-memory and the SQLite saver. The real graph on Postgres and on the servers is in
``tests/integration/graph/test_checkpoint_messages.py``.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, RemoveMessage
from langgraph.channels import BinaryOperatorAggregate, DeltaChannel
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import REMOVE_ALL_MESSAGES, add_messages
from pydantic import ValidationError

from state import Settings, SupportInput, SupportState, fold_messages, state_schemas


def test_full_is_the_default_and_delta_is_a_setting(monkeypatch):
    monkeypatch.delenv("SUPPORT_CHECKPOINT_MESSAGES", raising=False)
    assert Settings(_env_file=None).checkpoint_messages == "full"
    monkeypatch.setenv("SUPPORT_CHECKPOINT_MESSAGES", "delta")
    monkeypatch.setenv("SUPPORT_CHECKPOINT_MESSAGES_SNAPSHOT_EVERY", "25")
    settings = Settings(_env_file=None)
    assert settings.checkpoint_messages == "delta"
    assert settings.checkpoint_messages_snapshot_every == 25
    monkeypatch.setenv("SUPPORT_CHECKPOINT_MESSAGES", "deltas")
    with pytest.raises(ValidationError):
        Settings(_env_file=None)
    monkeypatch.setenv("SUPPORT_CHECKPOINT_MESSAGES", "delta")
    monkeypatch.setenv("SUPPORT_CHECKPOINT_MESSAGES_SNAPSHOT_EVERY", "0")
    with pytest.raises(ValidationError):
        Settings(_env_file=None)


def test_full_is_the_plain_schema_and_delta_the_same_fields_on_a_delta_channel():
    assert state_schemas("full") == (SupportState, SupportInput)
    state, inputs = state_schemas("delta", 7)
    assert state_schemas("delta", 7) == (state, inputs)  # one pair per setting
    assert issubclass(state, SupportState) and issubclass(inputs, SupportInput)
    assert [f.name for f in dataclasses.fields(state)] == [
        f.name for f in dataclasses.fields(SupportState)
    ]
    assert state().messages == [] and state().messages is not state().messages
    channel = typing.get_type_hints(state, include_extras=True)["messages"].__metadata__[0]
    assert isinstance(channel, DeltaChannel) and channel.snapshot_frequency == 7
    assert typing.get_type_hints(inputs, include_extras=True)["messages"].__metadata__[0] is channel
    with pytest.raises(ValueError, match="full or delta"):
        state_schemas("sometimes")  # type: ignore[arg-type]


WRITES: list[Any] = [
    [HumanMessage("hi", id="h1")],
    [AIMessage("hello", id="a1"), {"role": "user", "content": "more", "id": "h2"}],
    [HumanMessage("HI", id="h1")],  # replaced in place, by id
    [RemoveMessage(id="a1")],
    [AIMessage("again", id="a1")],  # back, at the end
    [RemoveMessage(id=REMOVE_ALL_MESSAGES), HumanMessage("fresh", id="h3")],
    [AIMessage("last", id="a2")],
]


def test_the_fold_is_add_messages_whatever_the_batches():
    one_by_one: list[Any] = []
    for write in WRITES:
        one_by_one = add_messages(one_by_one, write)
    for cut in range(len(WRITES) + 1):
        batched = fold_messages(fold_messages([], WRITES[:cut]), WRITES[cut:])
        assert [(m.type, m.text, m.id) for m in batched] == [
            (m.type, m.text, m.id) for m in one_by_one
        ]


async def _turn(state: SupportState) -> dict[str, Any]:
    """Echo the customer (replacing their message by id, as the guard does), sometimes forget."""
    last = state.messages[-1]
    text = last.text
    update: list[Any] = [HumanMessage(text.strip(), id=last.id), AIMessage(f"echo {text.strip()}")]
    if text.startswith("forget"):
        update.insert(0, RemoveMessage(id=state.messages[0].id))
    return {"messages": update}


def _toy(storage: str, saver: Any, snapshot_every: int = 3) -> Any:
    state, inputs = state_schemas(storage, snapshot_every)  # type: ignore[arg-type]
    builder = StateGraph(state, input_schema=inputs)
    builder.add_node("turn", _turn, input_schema=state)
    builder.add_edge(START, "turn")
    builder.add_edge("turn", END)
    return builder.compile(checkpointer=saver)


QUESTIONS = [f" question {i} " for i in range(9)] + ["forget the first", "after that"]


def _seen(messages: list[Any]) -> list[tuple[str, str, str | None]]:
    return [(m.type, m.text, m.id) for m in messages]


async def _conversation(storages: list[str], saver: Any, thread: str) -> list[Any]:
    """One turn per question, each with the next storage; checks every read-back."""
    config = {"configurable": {"thread_id": thread}}
    live: list[Any] = []
    for i, question in enumerate(QUESTIONS):
        graph = _toy(storages[i % len(storages)], saver)
        message = {"role": "user", "content": question} if i % 2 else HumanMessage(question)
        live = (await graph.ainvoke({"messages": [message]}, config, durability="async"))[
            "messages"
        ]
        for reader in ("full", "delta"):  # either way reads what was written
            state = await _toy(reader, saver).aget_state(config)
            assert _seen(state.values["messages"]) == _seen(live), (storages, i, reader)
    return live


@pytest.fixture(params=["memory", "sqlite"])
async def saver(request, tmp_path):
    if request.param == "memory":
        yield InMemorySaver()
        return
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    async with AsyncSqliteSaver.from_conn_string(str(tmp_path / "checkpoints.db")) as sqlite:
        await sqlite.setup()
        yield sqlite


@pytest.mark.parametrize(
    "storages",
    [["delta"], ["full", "delta"], ["delta", "full"], ["full"] * 4 + ["delta"] * 7],
    ids=["delta", "alternating", "alternating-from-delta", "full-then-delta"],
)
async def test_a_thread_reads_back_the_same_whichever_way_it_was_written(saver, storages):
    reference = await _conversation(["full"], InMemorySaver(), "reference")
    live = await _conversation(storages, saver, "thread")
    assert [(m.type, m.text) for m in live] == [(m.type, m.text) for m in reference]
    assert len(live) == 2 * len(QUESTIONS) - 1  # the first question was removed
    assert live[0].text == "echo question 0"


async def test_every_checkpoint_of_the_history_shows_the_whole_list(saver):
    async def history(storage: str, saver: Any) -> list[list[tuple[str, str]]]:
        await _conversation([storage], saver, storage)
        graph = _toy(storage, saver)
        config = {"configurable": {"thread_id": storage}}
        return [
            [(m.type, m.text) for m in s.values.get("messages", [])]
            async for s in graph.aget_state_history(config)
        ]

    full, delta = await history("full", InMemorySaver()), await history("delta", saver)
    assert delta == full
    ends = [len(v) for v in delta[::3]]  # input, after __start__, after turn: one turn each
    assert ends[:3] == [21, 19, 18]  # the turn before the last removed the first message


def test_only_delta_puts_messages_on_a_delta_channel():
    from graph.builder import build_graph

    full = build_graph(messages="full").compile()
    delta = build_graph(messages="delta", snapshot_every=5).compile()
    assert type(full.channels["messages"]) is BinaryOperatorAggregate
    assert isinstance(delta.channels["messages"], DeltaChannel)
    assert delta.channels["messages"].snapshot_frequency == 5
    # Clients and Studio see the same graph and the same schemas.
    assert full.get_input_jsonschema() == delta.get_input_jsonschema()
    assert full.get_output_jsonschema() == delta.get_output_jsonschema()
    assert full.get_graph().draw_mermaid() == delta.get_graph().draw_mermaid()


def test_the_graph_follows_the_settings(monkeypatch, tmp_path):
    from graph.builder import build_graph
    from tools.services import LazyServices

    settings = Settings(_env_file=None, data_dir=tmp_path, checkpoint_messages="delta")
    graph = build_graph(LazyServices(settings)).compile()
    assert isinstance(graph.channels["messages"], DeltaChannel)
    monkeypatch.setenv("SUPPORT_CHECKPOINT_MESSAGES", "delta")
    monkeypatch.setenv("SUPPORT_CHECKPOINT_MESSAGES_SNAPSHOT_EVERY", "9")
    from state.settings import get_settings

    get_settings.cache_clear()
    try:
        served = build_graph().compile()  # what langgraph.json serves: the environment's
        assert isinstance(served.channels["messages"], DeltaChannel)
        assert served.channels["messages"].snapshot_frequency == 9
    finally:
        get_settings.cache_clear()


async def test_delta_stores_the_list_only_at_snapshots():
    stored: dict[str, int] = {}
    for storage in ("full", "delta"):
        saver = InMemorySaver()
        await _conversation([storage], saver, storage)
        stored[storage] = sum(
            1 for key, (kind, _) in saver.blobs.items() if key[2] == "messages" and kind != "empty"
        )
    # full: each new version of the list (2 per turn); delta: a snapshot every 3 updates
    assert stored["full"] == 2 * len(QUESTIONS)
    assert 0 < stored["delta"] <= 2 * len(QUESTIONS) // 3
