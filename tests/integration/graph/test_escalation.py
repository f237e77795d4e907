"""Escalation end to end: tickets exactly once, outbox delivery, resume, tenant scope."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import text

from graph.embedded import open_agent
from graph.nodes.create_ticket import create_ticket
from state import Context, Settings
from tools.services import create_services

pytestmark = pytest.mark.integration

SECRET = "webhook-secret"
FRAUD = "There are charges on my card that I didn't make!"


class Receiver:
    """A helpdesk webhook that can be down, checks signatures and counts deliveries."""

    def __init__(self) -> None:
        self.up = False
        self.received: list[dict] = []
        self.bad_signatures = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if not receiver.up:
                    self.send_response(503)
                    self.end_headers()
                    return
                expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
                if self.headers.get("X-Support-Signature") != expected:
                    receiver.bad_signatures += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                receiver.received.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/tickets"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
async def agent(sample_kb_data, tmp_path, embeddings, receiver):
    data = tmp_path / "data"
    shutil.copytree(sample_kb_data, data)
    settings = Settings(
        _env_file=None,
        data_dir=data,
        escalation_webhook_url=receiver.url,
        escalation_webhook_secret=SECRET,
        policies={"webhook": {"timeout_s": 2, "max_attempts": 1, "breaker_fail_max": 50}},
    )
    services = await create_services(settings, embeddings=embeddings)
    async with open_agent(services=services) as built:
        yield built
    await services.aclose()


async def count(agent, table: str) -> int:
    async with agent.services.engine.connect() as conn:
        return (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()


async def test_escalation_creates_one_ticket_a_human_can_act_on(agent):
    result = await agent.ask(FRAUD, user_id="ann")
    assert result.outcome == "escalated"
    assert result.escalation["reason"] == "fraud"
    ticket_id = result.escalation["ticket_id"]
    assert f"ticket #{ticket_id}" in result.answer
    [ticket] = await agent.services.tickets.list("default")
    assert ticket["priority"] == "high" and ticket["status"] == "open"
    assert FRAUD in ticket["summary"] and "Escalated because: fraud" in ticket["summary"]
    assert "customer: " + FRAUD in ticket["transcript"]

    again = await agent.ask("Hello? Is anyone there?", thread_id=result.thread_id, user_id="ann")
    assert again.outcome == "escalated" and again.escalation["ticket_id"] == ticket_id
    assert await count(agent, "tickets") == 1, "asking again in the same episode"

    config = {"configurable": {"thread_id": result.thread_id}}
    state = (await agent.graph.aget_state(config)).values
    from state import SupportState

    retried = SupportState(
        **{k: v for k, v in state.items() if k in SupportState.__dataclass_fields__}
    )
    retried.messages = retried.messages[:1]  # the escalating turn, as a retry would see it
    await create_ticket(agent.services, retried, Context(user_id="ann"), result.thread_id)
    assert await count(agent, "tickets") == 1, "retrying the node"


async def test_human_replies_in_a_row_then_resolve_hands_the_thread_back(agent):
    result = await agent.ask("I want to speak to a human please", user_id="bea")
    reply = await agent.resume(result.thread_id, "Hi, this is Sam. How can I help?", name="Sam")
    assert reply.answer == "Sam (support team): Hi, this is Sam. How can I help?"
    assert reply.escalation["status"] == "assigned"
    # the human writes again before the customer does: the thread is still waiting for them
    again = await agent.resume(result.thread_id, "I can see your order.")
    assert again.answer == "Support team: I can see your order."
    follow = await agent.ask(
        "Thanks Sam, my order is late", thread_id=result.thread_id, user_id="bea"
    )
    assert follow.outcome == "escalated"  # still with the human, and told so
    assert "A person from our support team has your conversation" in follow.answer
    assert "human_requested" not in follow.answer  # no ticket internals for the customer
    done = await agent.resume(result.thread_id, "Sorted, it arrives tomorrow.", resolve=True)
    assert done.escalation is None
    back = await agent.ask("How do I reset my password?", thread_id=result.thread_id, user_id="bea")
    assert back.outcome == "answered"
    [ticket] = await agent.services.tickets.list("default")
    assert ticket["status"] == "resolved"
    history = await agent.history(result.thread_id)
    said = [text for role, text in history if role == "ai"]
    assert said.index("Sam (support team): Hi, this is Sam. How can I help?") < said.index(
        "Support team: I can see your order."
    )
    assert ("human", "Thanks Sam, my order is late") in history
    assert await count(agent, "tickets") == 1


UI_PAYLOADS = [
    # agent-chat-ui today (LangChain HITL): edit the reply, reject with a message, approve
    (
        {
            "decisions": [
                {
                    "type": "edit",
                    "edited_action": {
                        "name": "reply_to_customer",
                        "args": {"reply": "From the edit form", "resolve": "false"},
                    },
                }
            ]
        },
        "Support team: From the edit form",
    ),
    ({"decisions": [{"type": "reject", "message": "From the reject box"}]}, None),
    ("A plain string", "Support team: A plain string"),
    ([{"type": "response", "args": "From agent-inbox"}], "Support team: From agent-inbox"),
    ({"reply": "Ours, named", "name": "Ana"}, "Ana (support team): Ours, named"),
]


async def test_every_ui_resume_payload_delivers_the_reply(agent):
    result = await agent.ask("Can I talk to someone real?", user_id="uma")
    assert result.outcome == "escalated"
    snapshot = await agent.graph.aget_state({"configurable": {"thread_id": result.thread_id}})
    [pending] = snapshot.interrupts
    value = pending.value
    # agent-chat-ui's check (src/lib/agent-inbox-interrupt.ts) and agent-inbox's older one
    assert isinstance(value["action_requests"], list) and isinstance(value["review_configs"], list)
    assert {"allow_respond", "allow_accept", "allow_edit", "allow_ignore"} <= set(value["config"])
    assert value["ticket"]["ticket_id"] == result.escalation["ticket_id"]
    assert value["ticket"]["tenant_id"] == "default"
    assert "Can I talk to someone real?" in value["ticket"]["summary"]
    for payload, shown in UI_PAYLOADS:
        turn = await agent.resume(result.thread_id, payload=payload)
        expected = shown or "Support team: From the reject box"
        assert turn.answer == expected, payload
        assert turn.escalation["status"] == "assigned"
    from graph.handover import ResumeError

    with pytest.raises(ResumeError, match="expected"):
        await agent.resume(result.thread_id, payload={"accepted": True})
    done = await agent.resume(result.thread_id, payload={"decisions": [{"type": "approve"}]})
    assert done.escalation is None
    [ticket] = await agent.services.tickets.list("default")
    assert ticket["status"] == "resolved"
    history = [text for role, text in await agent.history(result.thread_id) if role == "ai"]
    assert len([t for t in history if "(support team)" in t or "Support team:" in t]) == 5


async def test_a_payload_the_graph_cannot_read_waits_for_a_good_one(agent):
    """Sent past the API's check (e.g. straight to the graph), it is never taken as a reply."""
    from langgraph.types import Command

    result = await agent.ask("Put me through to an agent", user_id="vic")
    config = {"configurable": {"thread_id": result.thread_id}}
    await agent.graph.ainvoke(
        Command(resume={"accepted": True}), config=config, context=Context(user_id="vic")
    )
    snapshot = await agent.graph.aget_state(config)
    [pending] = snapshot.interrupts
    assert "expected" in pending.value["error"]
    good = await agent.resume(result.thread_id, "Now a real reply")
    assert good.answer == "Support team: Now a real reply"


async def test_webhook_down_then_back_delivers_each_ticket_once(agent, receiver):
    await agent.ask(FRAUD, user_id="cat")
    from graph.nodes.create_ticket import deliveries_settled

    await deliveries_settled()  # the turn's own delivery attempt (webhook down)
    tickets = agent.services.tickets
    down = await tickets.deliver_pending()
    assert down["delivered"] == 0 and down["pending"] == 1 and receiver.received == []

    receiver.up = True
    up = await tickets.deliver_pending()
    assert up == {"delivered": 1, "failed": 0, "pending": 0}
    assert (await tickets.deliver_pending())["delivered"] == 0
    assert len(receiver.received) == 1 and receiver.bad_signatures == 0
    assert receiver.received[0]["reasons"] == ["fraud"]


async def test_tickets_are_scoped_by_tenant_and_forgotten_with_the_user(agent):
    await agent.ask("Let me talk to a person", user_id="dan")
    assert await agent.services.tickets.list("other-tenant") == []
    assert len(await agent.services.tickets.list("default")) == 1
    counts = await agent.forget("dan")
    assert counts["tickets"] == 1
    assert await count(agent, "tickets") == 0 and await count(agent, "outbox") == 0


def test_resume_through_the_command_line(sample_kb_data, tmp_path):
    data = tmp_path / "cli-data"
    shutil.copytree(sample_kb_data, data)
    cli = str(Path(sys.executable).with_name("support-agent"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUPPORT_", "OPENAI_"))}
    env["SUPPORT_DATA_DIR"] = str(data)

    def run(*args):
        done = subprocess.run(
            [cli, *args], capture_output=True, text=True, env=env, timeout=300, check=False
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    asked = json.loads(run("ask", "I want to speak to a human", "--user", "eve", "--json"))
    assert asked["outcome"] == "escalated"
    resumed = json.loads(
        run("resume", asked["thread_id"], "--reply", "Hello from Sam", "--resolve", "--json")
    )
    assert resumed["answer"] == "Support team: Hello from Sam"  # marked as from a person
    [ticket] = json.loads(run("tickets", "list", "--json"))
    assert (
        ticket["status"] == "resolved" and ticket["ticket_id"] == asked["escalation"]["ticket_id"]
    )
