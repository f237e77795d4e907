"""What API clients see, on ``langgraph dev`` and on Aegra, with a streaming model.

The servers run the graph in LLM mode against a local OpenAI-compatible server
that streams word by word (the real ``ChatOpenAI`` client parses it). Customers'
streams carry only checked answers; the handover is the shape agent-chat-ui renders
and takes its payloads; files from today's agent-chat-ui are read and never kept in
a checkpoint.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import httpx
import pytest

from tests.fake_openai import FakeOpenAI
from tests.servers import ROOT, SERVERS, serve_fresh, token

pytestmark = pytest.mark.integration

MODES = ["messages-tuple", "updates", "values"]


@pytest.fixture(scope="module")
def fake():
    server = FakeOpenAI()
    server.token_delay_s = 0.01
    yield server
    server.close()


@pytest.fixture(scope="module", params=SERVERS)
def server(request, fake, sample_kb_data, tmp_path_factory, postgres_server):
    root = tmp_path_factory.mktemp(f"{request.param}-llm")
    env = {
        "SUPPORT_LLM_MODEL": "test-model",
        "SUPPORT_OPENAI_BASE_URL": fake.url,
        "SUPPORT_OPENAI_API_KEY": "sk-test",
    }
    with serve_fresh(request.param, sample_kb_data, root, postgres_server, **env) as running:
        yield running


def user(name: str, tenant: str = "default", role: str = "customer") -> str:
    return token(f"{name}-{uuid.uuid4().hex[:6]}", tenant, role)


async def stream(client: Any, thread_id: str, modes: list[str], **kwargs: Any) -> list[Any]:
    """Every event of a streamed run, as (event, data)."""
    events = []
    async for part in client.runs.stream(thread_id, "support_agent", stream_mode=modes, **kwargs):
        events.append((part.event, part.data))
    return events


def streamed_messages(events: list[Any]) -> list[dict[str, Any]]:
    """The message payloads of ``messages`` / ``messages-tuple`` events."""
    found = []
    for event, data in events:
        if event == "messages" and isinstance(data, list) and data:
            found.append(data[0])
        elif event.startswith("messages/") and isinstance(data, list):
            found.extend(m for m in data if isinstance(m, dict) and "content" in m)
    return found


async def test_customers_stream_only_checked_answers(server, fake):
    fake.mode = "cite"
    fake.structured = {"memories": [{"kind": "fact", "content": "On the Pro plan", "slot": "plan"}]}
    client = server.client(user("sia"))
    thread = (await client.threads.create())["thread_id"]
    question = "I'm on the Pro plan. How long do refunds take to reach PayPal?"
    events = await stream(
        client, thread, MODES, input={"messages": [{"role": "user", "content": question}]}
    )
    everything = json.dumps([data for _, data in events])
    final = (await client.threads.get_state(thread))["values"]
    answer = final["messages"][-1]["content"]
    assert final["outcome"] == "answered" and answer.startswith("FROM-THE-MODEL:")
    assert "unlike" not in answer  # no residue of the dropped citation
    assert "invented/doc.md" not in everything  # the raw answer never streamed
    said = [m for m in streamed_messages(events) if m.get("type", "").startswith("ai")]
    assert not [m for m in streamed_messages(events) if '"memories"' in str(m.get("content"))]
    assert said, "the checked answer is streamed"
    assert {m["content"] for m in said if m["content"]} == {answer}

    fake.mode = "uncited"  # the model answers without a citation: replaced extractively
    events = await stream(
        client,
        thread,
        [*MODES, "messages"],
        input={"messages": [{"role": "user", "content": "And how long for a credit card?"}]},
    )
    assert "about a week" not in json.dumps([data for _, data in events])
    final = (await client.threads.get_state(thread))["values"]
    assert "model_uncited" in (final["degraded"] or "")


def _interrupt_value(state: dict[str, Any]) -> dict[str, Any]:
    """The pending interrupt's value, where either server puts it."""
    pending = list(state.get("interrupts") or [])
    for task in state.get("tasks") or []:
        pending += task.get("interrupts") or []
    assert pending, state
    return pending[0]["value"]


def agent_chat_ui_renders(value: Any) -> bool:
    """agent-chat-ui's check (``isAgentInboxInterruptSchema``) on an interrupt value."""
    return (
        isinstance(value, dict)
        and isinstance(value.get("action_requests"), list)
        and isinstance(value.get("review_configs"), list)
    )


async def test_the_handover_is_driven_from_agent_chat_ui(server, fake):
    fake.mode = "cite"
    customer = server.client(user("hal"))
    thread = (await customer.threads.create())["thread_id"]
    events = await stream(
        customer,
        thread,
        [*MODES, "messages"],
        input={"messages": [{"role": "user", "content": "Please connect me to a human agent"}]},
    )
    # the model writes the staff-only summary; the customer's stream never carries it
    assert "customer wants a person" not in json.dumps([data for _, data in events])
    assert (await customer.threads.get(thread))["status"] == "interrupted"
    value = _interrupt_value(await customer.threads.get_state(thread))
    assert agent_chat_ui_renders(value)
    assert value["review_configs"][0]["action_name"] == value["action_requests"][0]["name"]
    assert value["ticket"]["tenant_id"] == "default" and value["ticket"]["ticket_id"]

    # the customer writes while the thread is with a human: acknowledged, still waiting
    await customer.runs.wait(
        thread,
        "support_agent",
        input={"messages": [{"role": "user", "content": "Hello? Anyone there?"}]},
    )
    state = await customer.threads.get_state(thread)
    assert "has your conversation and will reply here" in state["values"]["messages"][-1]["content"]
    assert (await customer.threads.get(thread))["status"] == "interrupted"

    agent = server.client(user("sam", role="agent"))
    replies = [
        {"decisions": [{"type": "reject", "message": "One"}]},
        "Two",
        [{"type": "response", "args": "Three"}],
    ]
    for payload in replies:
        await agent.runs.wait(thread, "support_agent", command={"resume": payload})
        assert (await customer.threads.get(thread))["status"] == "interrupted"
    with pytest.raises(httpx.HTTPStatusError) as refused:
        await agent.runs.wait(thread, "support_agent", command={"resume": {"accepted": True}})
    assert refused.value.response.status_code == 422
    assert "expected" in refused.value.response.text
    await agent.runs.wait(
        thread,
        "support_agent",
        command={
            "resume": {
                "decisions": [
                    {
                        "type": "edit",
                        "edited_action": {
                            "name": "reply_to_customer",
                            "args": {"reply": "Four, and done", "resolve": True, "name": "Sam"},
                        },
                    }
                ]
            }
        },
    )
    values = (await customer.threads.get_state(thread))["values"]
    said = [m["content"] for m in values["messages"] if m["type"] == "ai"]
    assert said[-4:] == [
        "Support team: One",
        "Support team: Two",
        "Support team: Three",
        "Sam (support team): Four, and done",
    ]
    assert values["escalation"] is None
    assert (await customer.threads.get(thread))["status"] == "idle"


async def test_files_from_agent_chat_ui_are_read_and_never_checkpointed(server, fake):
    fake.mode = "read_attachment"
    client = server.client(user("pia"))
    thread = (await client.threads.create())["thread_id"]
    pdf = (ROOT / "evaluations" / "datasets" / "files" / "invoice-LM-20931.pdf").read_bytes()
    encoded = base64.b64encode(pdf).decode()
    await client.runs.wait(
        thread,
        "support_agent",
        input={
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is the total on this invoice?"},
                        {
                            "type": "file",
                            "mimeType": "application/pdf",
                            "data": encoded,
                            "metadata": {"filename": "invoice-LM-20931.pdf"},
                        },
                    ],
                }
            ]
        },
    )
    values = (await client.threads.get_state(thread))["values"]
    assert values["citations"][0]["doc_id"].startswith("attachment:"), values["route_reasons"]
    assert "[attached: invoice-LM-20931.pdf (pdf" in values["messages"][0]["content"]
    fake.mode = "cite"
    huge = "Please read every word of this. " * 4000
    await client.runs.wait(
        thread, "support_agent", input={"messages": [{"role": "user", "content": huge}]}
    )
    history = await client.threads.get_history(thread, limit=200)
    assert len(history) > 10
    dumped = [json.dumps(checkpoint) for checkpoint in history]
    assert not [d for d in dumped if encoded[100:160] in d]
    assert max(len(d) for d in dumped) < 100_000, "the oversized message stayed in a checkpoint"
