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


async def test_human_reply_then_resolve_hands_the_thread_back(agent):
    result = await agent.ask("I want to speak to a human please", user_id="bea")
    reply = await agent.resume(result.thread_id, "Hi, this is Sam. How can I help?")
    assert reply.answer == "Hi, this is Sam. How can I help?"
    assert reply.escalation["status"] == "assigned"
    follow = await agent.ask(
        "Thanks Sam, my order is late", thread_id=result.thread_id, user_id="bea"
    )
    assert follow.outcome == "escalated"  # still with the human
    done = await agent.resume(result.thread_id, "Sorted, it arrives tomorrow.", resolve=True)
    assert done.escalation is None
    back = await agent.ask("How do I reset my password?", thread_id=result.thread_id, user_id="bea")
    assert back.outcome == "answered"
    [ticket] = await agent.services.tickets.list("default")
    assert ticket["status"] == "resolved"
    history = await agent.history(result.thread_id)
    assert ("ai", "Hi, this is Sam. How can I help?") in history
    assert await count(agent, "tickets") == 1


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
    assert resumed["answer"] == "Hello from Sam"
    [ticket] = json.loads(run("tickets", "list", "--json"))
    assert (
        ticket["status"] == "resolved" and ticket["ticket_id"] == asked["escalation"]["ticket_id"]
    )
