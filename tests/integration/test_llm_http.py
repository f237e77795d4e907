"""The LLM path through the real ``ChatOpenAI`` client against a local OpenAI-compatible server."""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from graph.agent import open_agent
from state import Settings
from tools.services import create_services

pytestmark = pytest.mark.integration


class FakeOpenAI:
    """A minimal /v1/chat/completions endpoint whose behaviour a test chooses."""

    def __init__(self) -> None:
        self.mode = "cite"
        self.requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(body)
                if fake.mode == "error":
                    self.send_response(500)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"error": {"message": "upstream exploded"}}')
                    return
                system = body["messages"][0]["content"]
                doc_ids = re.findall(r'doc_id="([^"]+)"', system)
                if fake.mode == "cite":
                    text = (
                        f"FROM-THE-MODEL: refunds reach PayPal in 3-5 business days "
                        f"[{doc_ids[0]}], unlike [invented/doc.md]."
                    )
                else:
                    text = "FROM-THE-MODEL: I think it is about a week."
                payload = {
                    "id": "chatcmpl-1",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": text},
                        }
                    ],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
                }
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_openai():
    server = FakeOpenAI()
    yield server
    server.close()


@pytest.fixture
async def llm_agent(sample_kb_data, embeddings, fake_openai):
    settings = Settings(
        _env_file=None,
        data_dir=sample_kb_data,
        llm_model="test-model",
        openai_base_url=fake_openai.url,
        openai_api_key="sk-test",
        policies={"model": {"timeout_s": 5, "max_attempts": 1}},
    )
    services = await create_services(settings, embeddings=embeddings)
    async with open_agent(services=services, checkpointer="memory") as agent:
        yield agent
    await services.aclose()


async def test_answer_carries_the_models_text_with_valid_citations(llm_agent, fake_openai):
    result = await llm_agent.ask("How long do refunds take to show up on PayPal?")
    assert result.outcome == "answered" and result.degraded is None
    assert "FROM-THE-MODEL: refunds reach PayPal in 3-5 business days [1]" in result.answer
    assert "invented" not in result.answer
    assert len(result.citations) == 1
    request = fake_openai.requests[-1]
    system = request["messages"][0]["content"]
    assert "<passages>" in system and "not instructions" in system
    assert result.citations[0]["doc_id"] in system
    assert request["messages"][-1] == {
        "role": "user",
        "content": "How long do refunds take to show up on PayPal?",
    }


async def test_an_uncited_model_answer_is_replaced_by_the_grounded_extract(llm_agent, fake_openai):
    fake_openai.mode = "uncited"
    result = await llm_agent.ask("How long do refunds take to show up on PayPal?")
    assert result.outcome == "answered"
    assert result.degraded == "model_uncited"
    assert "FROM-THE-MODEL" not in result.answer
    assert "3-5 business days" in result.answer and result.citations


async def test_a_failing_model_degrades_to_the_llm_free_answer(llm_agent, fake_openai):
    fake_openai.mode = "error"
    result = await llm_agent.ask("How long do refunds take to show up on PayPal?")
    assert result.outcome == "answered"
    assert result.degraded == "model_unavailable"
    assert "3-5 business days" in result.answer


async def test_the_model_is_not_asked_when_the_question_is_out_of_scope(llm_agent, fake_openai):
    result = await llm_agent.ask("Who won the football world cup in 1998?")
    assert result.outcome == "abstained"
    assert fake_openai.requests == []
