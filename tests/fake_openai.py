"""A local OpenAI-compatible HTTP server whose behaviour a test scripts.

The real ``ChatOpenAI`` client talks to it, so the client's own parsing and
error handling run; only the hosted model is replaced.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeOpenAI:
    """A minimal /v1/chat/completions endpoint whose behaviour a test chooses."""

    def __init__(self) -> None:
        self.mode = "cite"
        self.next_modes: list[str] = []
        """Modes for the next requests, before falling back to ``mode``."""
        self.delay_s = 3.0
        self.retry_after = 0.2
        self.requests: list[dict] = []
        self.search_query = "reset my password"
        """What the model searches for in ``search`` mode."""
        self.structured: dict = {"memories": []}
        """What structured-output requests (memory extraction) get back."""
        self.token_delay_s = 0.0
        """Pause between streamed chunks (requests with ``"stream": true``)."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def handle(self):
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    super().handle()  # the client may give up first (timeout tests)

            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(body)
                mode = fake.next_modes.pop(0) if fake.next_modes else fake.mode
                if mode == "slow":
                    time.sleep(fake.delay_s)
                if mode == "rate_limited":
                    self.send_response(429)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Retry-After", str(fake.retry_after))
                    self.end_headers()
                    self.wfile.write(b'{"error": {"message": "slow down"}}')
                    return
                if mode == "malformed":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"unexpected": "shape"')
                    return
                if mode == "echo_key":  # some endpoints put the key they refused in the body
                    key = self.headers.get("Authorization", "")
                    self.send_response(401)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(json.dumps({"error": {"message": f"bad key {key}"}}).encode())
                    return
                if mode == "error":
                    self.send_response(500)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"error": {"message": "upstream exploded"}}')
                    return
                if "response_format" in body:  # structured output (memory extraction)
                    text = json.dumps(fake.structured)
                    self._reply(body, text)
                    return
                system = str(body["messages"][0]["content"])
                doc_ids = re.findall(r'doc_id="([^"]+)"', system)
                if mode == "read_attachment" and body.get("tools"):
                    tool_results = [m for m in body["messages"] if m.get("role") == "tool"]
                    if not tool_results:
                        wanted = re.findall(r'doc_id="(attachment:\d+)"', system)
                        self._reply(
                            body, None, tool_call=("read_attachment", {"attachment": wanted[0]})
                        )
                        return
                    read = re.findall(r'doc_id="(attachment:\d+)"', tool_results[-1]["content"])
                    self._reply(body, f"FROM-THE-MODEL: your file says so [{read[0]}].")
                    return
                if mode == "escalate" and body.get("tools"):
                    self._reply(body, None, tool_call=("escalate_to_human", {"reason": "insists"}))
                    return
                if mode == "search":
                    tool_results = [m for m in body["messages"] if m.get("role") == "tool"]
                    if not tool_results and body.get("tools"):
                        args = {"query": fake.search_query}
                        self._reply(body, None, tool_call=("search_knowledge_base", args))
                        return
                    found = re.findall(r'doc_id="([^"]+)"', str(tool_results[-1]["content"]))
                    cited = found[0] if found else (doc_ids[0] if doc_ids else "none")
                    self._reply(body, f"FROM-THE-MODEL: after searching again [{cited}].")
                    return
                if not doc_ids:
                    self._reply(body, "FROM-THE-MODEL: customer wants a person about charges.")
                    return
                if mode in ("cite", "slow", "escalate"):
                    text = (
                        f"FROM-THE-MODEL: refunds reach PayPal in 3-5 business days "
                        f"[{doc_ids[0]}], unlike [invented/doc.md]."
                    )
                else:
                    text = "FROM-THE-MODEL: I think it is about a week."
                self._reply(body, text)

            def _reply(self, body, text, tool_call=None):
                if body.get("stream"):
                    self._stream(body, text, tool_call)
                    return
                payload = {
                    "id": "chatcmpl-1",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "tool_calls" if tool_call else "stop",
                            "message": {
                                "role": "assistant",
                                "content": text,
                                **(
                                    {
                                        "tool_calls": [
                                            {
                                                "id": "call_1",
                                                "type": "function",
                                                "function": {
                                                    "name": tool_call[0],
                                                    "arguments": json.dumps(tool_call[1]),
                                                },
                                            }
                                        ]
                                    }
                                    if tool_call
                                    else {}
                                ),
                            },
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

            def _stream(self, body, text, tool_call):
                """Server-sent events, as the API streams: word by word, then [DONE]."""
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()

                def chunk(delta, finish=None):
                    event = {
                        "id": "chatcmpl-1",
                        "object": "chat.completion.chunk",
                        "created": int(time.time()),
                        "model": body["model"],
                        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                    }
                    self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                    self.wfile.flush()

                chunk({"role": "assistant", "content": ""})
                if tool_call:
                    call = {
                        "index": 0,
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": tool_call[0], "arguments": json.dumps(tool_call[1])},
                    }
                    chunk({"tool_calls": [call]})
                for word in re.findall(r"\S+\s*", text or ""):
                    time.sleep(fake.token_delay_s)
                    chunk({"content": word})
                chunk({}, "tool_calls" if tool_call else "stop")
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def model_settings(data_dir, server: FakeOpenAI, **overrides):
    """Settings for LLM mode against ``server``."""
    from state import Settings

    return Settings(
        _env_file=None,
        data_dir=data_dir,
        llm_model="test-model",
        openai_base_url=server.url,
        openai_api_key="sk-test",
        **overrides,
    )
