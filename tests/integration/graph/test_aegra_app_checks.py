"""What a client could send to get around ``graph/server/aegra_app.py`` on Aegra 0.6.

Aegra 0.6 leaves some checks to the HTTP app (run endpoints, state writes, staff access
to their tenant's threads); each test is one way around them, on a real server.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.servers import SECRET, serve_fresh, token

pytestmark = pytest.mark.integration

MARK = "zebra-marker-4711"
SECRET_ASK = {"messages": [{"role": "user", "content": f"How do refunds work? {MARK}"}]}
RESET = {"messages": [{"role": "user", "content": "How do I reset my password?"}]}


@pytest.fixture(scope="module")
def server(sample_kb_data, tmp_path_factory, postgres_server):
    root = tmp_path_factory.mktemp("aegra-app-checks")
    with serve_fresh("aegra", sample_kb_data, root, postgres_server) as running:
        yield running


def user(name: str, tenant: str = "default", role: str = "customer") -> tuple[str, str]:
    uid = f"{name}-{uuid.uuid4().hex[:6]}"
    return uid, token(uid, tenant, role)


def bearer(tok: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tok}"}


async def _thread(http: httpx.AsyncClient, tok: str, body: Any, thread_id: str | None = None):
    payload = {"thread_id": thread_id} if thread_id else {}
    created = await http.post("/threads", json=payload, headers=bearer(tok))
    assert created.status_code == 200, created.text
    tid = created.json()["thread_id"]
    ran = await http.post(
        f"/threads/{tid}/runs/wait",
        json={"assistant_id": "support_agent", "input": body},
        headers=bearer(tok),
        timeout=120,
    )
    assert ran.status_code == 200, ran.text
    return tid


async def _victim_and_attacker(http: httpx.AsyncClient) -> tuple[str, str, str, str]:
    """Alice's thread holding the marker, and a thread of Mallory's in another tenant."""
    _, alice = user("alice")
    _, mallory = user("mallory", tenant="globex")
    victim = await _thread(http, alice, SECRET_ASK)
    own = await _thread(http, mallory, RESET)
    return alice, victim, mallory, own


async def test_two_authorization_headers_do_not_skip_the_state_check(server):
    """The app reads the first Authorization header, Aegra the last."""
    _, cara = user("cara")
    async with httpx.AsyncClient(base_url=server.url) as http:
        tid = await _thread(http, cara, RESET)
        plain = await http.post(
            f"/threads/{tid}/state", json={"values": {"outcome": "resolved"}}, headers=bearer(cara)
        )
        assert plain.status_code == 403  # what the app answers a customer's state write
        sneaky = await http.post(
            f"/threads/{tid}/state",
            json={"values": {"outcome": "resolved"}},
            headers=[("authorization", "Bearer not-a-token"), ("authorization", f"Bearer {cara}")],
        )
        assert sneaky.status_code in (400, 403), sneaky.text


@pytest.mark.parametrize("name", ["count", "search", "prune"])
async def test_a_thread_named_like_a_collection_endpoint_is_still_guarded(server, name):
    _, dan = user("dan")
    async with httpx.AsyncClient(base_url=server.url) as http:
        tid = await _thread(http, dan, RESET, thread_id=name)
        assert tid == name
        wrote = await http.post(
            f"/threads/{name}/state", json={"values": {"outcome": "resolved"}}, headers=bearer(dan)
        )
        assert wrote.status_code == 403, wrote.text


async def test_history_of_another_thread_through_the_body(server):
    """Aegra lets ``checkpoint.thread_id`` in POST /threads/{own}/history replace the path's."""
    async with httpx.AsyncClient(base_url=server.url) as http:
        _, victim, mallory, own = await _victim_and_attacker(http)
        got = await http.post(
            f"/threads/{own}/history",
            json={"limit": 5, "checkpoint": {"thread_id": victim}},
            headers=bearer(mallory),
        )
        assert MARK not in got.text, "another tenant's conversation read through history"


async def test_a_run_on_another_thread_through_its_config(server):
    """Aegra keeps a client's ``config.configurable.thread_id`` over the path's."""
    async with httpx.AsyncClient(base_url=server.url) as http:
        alice, victim, mallory, own = await _victim_and_attacker(http)
        streamed = await http.post(
            f"/threads/{own}/runs/stream",
            json={
                "assistant_id": "support_agent",
                "input": {"messages": [{"role": "user", "content": "hello from mallory"}]},
                "stream_mode": ["values"],
                "config": {"configurable": {"thread_id": victim}},
            },
            headers=bearer(mallory),
            timeout=120,
        )
        state = await http.get(f"/threads/{victim}/state", headers=bearer(alice))
        assert MARK not in streamed.text, "another tenant's conversation streamed"
        assert "hello from mallory" not in state.text, "a message stored in another's thread"


async def test_a_valid_seal_sent_by_a_client_is_dropped(server):
    """Stripping, tested with a seal that would verify (the test knows the key)."""
    from tools.identity.tokens import Caller, acting_seal

    cara_id, cara = user("cara")
    sam_id, sam = user("sam", role="agent")
    seal = acting_seal(Caller(sam_id, "default", "agent"), cara_id, SECRET.encode())
    async with httpx.AsyncClient(base_url=server.url) as http:
        tid = await _thread(http, cara, RESET)
        for name in ("X-Support-Acting-For", "x-support-acting-for"):
            found = await http.post(
                "/threads/search",
                json={},
                headers={
                    **bearer(sam),
                    name: cara_id,
                    name.replace("For", "Seal").replace("for", "seal"): seal,
                },
            )
            assert tid not in found.text


async def test_a_newline_at_the_end_of_the_path_skips_no_check(server):
    """Starlette routes ``/threads/{id}/state\\n`` as ``/state`` (``$`` before a newline)."""
    _, erin = user("erin")
    _, fred = user("fred")
    async with httpx.AsyncClient(base_url=server.url) as http:
        own = await _thread(http, erin, RESET)
        wrote = await http.post(
            f"/threads/{own}/state%0A",
            json={"values": {"outcome": "resolved"}},
            headers=bearer(erin),
        )
        assert wrote.status_code in (403, 404), wrote.text
        victim = await _thread(http, erin, SECRET_ASK)
        ran = await http.post(
            f"/threads/{victim}/runs%0A",
            json={"assistant_id": "support_agent", "input": RESET},
            headers=bearer(fred),
        )
        assert ran.status_code == 404, ran.text


async def test_staff_keep_the_threads_they_created_for_a_customer(server):
    """An agent starts a conversation for a customer (context ``user_id``): the graph
    records the customer as owner, Aegra the agent as creator."""
    cara_id, _ = user("cara")
    _, sam = user("sam", role="agent")
    async with httpx.AsyncClient(base_url=server.url) as http:
        created = await http.post("/threads", json={}, headers=bearer(sam))
        tid = created.json()["thread_id"]
        ran = await http.post(
            f"/threads/{tid}/runs/wait",
            json={"assistant_id": "support_agent", "input": RESET, "context": {"user_id": cara_id}},
            headers=bearer(sam),
            timeout=120,
        )
        assert ran.status_code == 200, ran.text
        seen = await http.get(f"/threads/{tid}", headers=bearer(sam))
        assert seen.status_code == 200, seen.text
