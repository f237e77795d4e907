"""The graph served by ``langgraph dev`` (blocking-call detection on), driven with langgraph-sdk."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(sample_kb_data, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("server") / "data"
    shutil.copytree(sample_kb_data, data_dir)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUPPORT_", "OPENAI_"))}
    env.update(
        SUPPORT_DATA_DIR=str(data_dir), LANGSMITH_TRACING="false", LANGCHAIN_TRACING_V2="false"
    )
    log = (tmp_path_factory.mktemp("server-log") / "server.log").open("w+")
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("langgraph")),
            "dev",
            "--no-browser",
            "--no-reload",
            "--port",
            str(port),
            "--config",
            str(ROOT / "langgraph.json"),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if httpx.get(f"{url}/ok", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    else:
        process.terminate()
    if process.poll() is not None:
        log.seek(0)
        pytest.fail(f"langgraph dev did not start:\n{log.read()[-4000:]}")
    yield url, log
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


async def test_served_graph_answers_and_exposes_state(server):
    from langgraph_sdk import get_client

    url, log = server
    client = get_client(url=url)
    thread = await client.threads.create()
    await client.runs.wait(
        thread["thread_id"],
        "support_agent",
        input={"messages": [{"role": "user", "content": "How do I reset my password?"}]},
        context={"tenant_id": "default", "user_id": "studio-user"},
    )
    state = await client.threads.get_state(thread["thread_id"])
    values = state["values"]
    assert values["outcome"] == "answered", values
    assert values["citations"][0]["doc_id"] == "accounts/reset-your-password.md"
    assert values["messages"][-1]["type"] == "ai"
    assert "[1]" in values["messages"][-1]["content"]

    await client.runs.wait(
        thread["thread_id"],
        "support_agent",
        input={"messages": [{"role": "user", "content": "What is the capital of Mongolia?"}]},
        context={"tenant_id": "default", "user_id": "studio-user"},
    )
    state = await client.threads.get_state(thread["thread_id"])
    assert state["values"]["outcome"] == "abstained"
    assert state["values"]["citations"] == []
    assert len(state["values"]["messages"]) == 4
    log.seek(0)
    assert "BlockingError" not in log.read()


async def test_another_tenant_gets_nothing_from_this_knowledge_base(server):
    from langgraph_sdk import get_client

    url, _ = server
    client = get_client(url=url)
    thread = await client.threads.create()
    await client.runs.wait(
        thread["thread_id"],
        "support_agent",
        input={"messages": [{"role": "user", "content": "How do I reset my password?"}]},
        context={"tenant_id": "globex", "user_id": "u2"},
    )
    state = await client.threads.get_state(thread["thread_id"])
    assert state["values"]["outcome"] == "abstained"
    assert state["values"]["passages"] == []


async def test_escalated_thread_shows_the_interrupt_and_resumes_with_the_sdk(server):
    from langgraph_sdk import get_client

    url, _ = server
    client = get_client(url=url)
    thread = await client.threads.create()
    await client.runs.wait(
        thread["thread_id"],
        "support_agent",
        input={"messages": [{"role": "user", "content": "Please connect me to a human agent"}]},
        context={"tenant_id": "default", "user_id": "studio-user-2"},
    )
    state = await client.threads.get_state(thread["thread_id"])
    assert state["values"]["outcome"] == "escalated"
    ticket_id = state["values"]["escalation"]["ticket_id"]
    interrupts = [i for task in state["tasks"] for i in task["interrupts"]]
    assert interrupts and interrupts[0]["value"]["ticket_id"] == ticket_id

    await client.runs.wait(
        thread["thread_id"],
        "support_agent",
        command={"resume": {"reply": "Hi, Sam here.", "resolve": True}},
        context={"tenant_id": "default", "user_id": "studio-user-2"},
    )
    state = await client.threads.get_state(thread["thread_id"])
    assert state["values"]["messages"][-1]["content"] == "Hi, Sam here."
    assert state["values"]["escalation"] is None


async def test_a_file_sent_as_a_content_block_is_read_and_cited(server, tmp_path):
    """The shape agent-chat-ui sends; conversion runs off the event loop (no BlockingError)."""
    import base64

    from langgraph_sdk import get_client

    url, log = server
    client = get_client(url=url)
    thread = await client.threads.create()
    receipt = b"Lumora Home receipt\n\nOrder LH-5521\n\nTOTAL DUE: $74.50\n"
    await client.runs.wait(
        thread["thread_id"],
        "support_agent",
        input={
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is the total due on my receipt?"},
                        {
                            "type": "file",
                            "source_type": "base64",
                            "mime_type": "text/plain",
                            "data": base64.b64encode(receipt).decode(),
                            "metadata": {"filename": "receipt.txt"},
                        },
                    ],
                }
            ]
        },
        context={"tenant_id": "default", "user_id": "studio-files"},
    )
    values = (await client.threads.get_state(thread["thread_id"]))["values"]
    assert values["outcome"] == "answered", values.get("route_reasons")
    assert values["attachments"][0]["filename"] == "receipt.txt"
    assert values["citations"][0]["doc_id"] == values["attachments"][0]["doc_id"]
    assert "$74.50" in values["messages"][-1]["content"]
    stored = values["messages"][0]
    assert stored["content"] == "What is the total due on my receipt?"  # no base64 kept
    log.seek(0)
    assert "BlockingError" not in log.read()
