"""OpenTelemetry: a turn's span tree, with codes an operator needs and no customer text."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

pytestmark = pytest.mark.integration

SECRET_WORDS = ("Quuxley", "Zebediah", "jammed")


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)  # once per process
    yield exporter
    provider.shutdown()  # later tests' spans are not kept


async def test_a_turn_is_one_trace_of_nodes_and_dependency_calls_without_text(sample_agent, spans):
    spans.clear()
    message = "Hi, I'm Zebediah Quuxley and my Lumora Lock bolt is jammed"
    result = await sample_agent.ask(message, user_id="traced-user")
    finished = spans.get_finished_spans()
    by_name = {s.name: s for s in finished}
    turn = by_name["support_agent.turn"]
    assert turn.attributes["support.outcome"] == result.outcome
    assert turn.attributes["support.tenant_id"] == "default"
    assert turn.attributes["support.thread_id"] == result.thread_id
    for node in ("guard", "retrieve", "remember", "route", "answer"):
        span = by_name[f"support_agent.node.{node}"]
        assert span.context.trace_id == turn.context.trace_id
        assert span.parent is not None
    assert by_name["support_agent.node.route"].attributes["support.route"] == "answer"
    search = by_name["support_agent.dependency.kb_search"]
    assert search.parent.span_id == by_name["support_agent.node.retrieve"].context.span_id
    assert search.attributes["support.breaker_state"] == "closed"
    assert search.attributes["support.attempts"] == 1
    dumped = json.dumps([dict(s.attributes or {}) for s in finished]) + " ".join(
        s.name for s in finished
    )
    for word in SECRET_WORDS:
        assert word not in dumped  # never the customer's words


def test_the_standard_variables_export_spans_from_the_command_line(cli_env):
    env = {**cli_env, "OTEL_TRACES_EXPORTER": "console"}
    done = subprocess.run(
        [
            os.path.join(os.path.dirname(sys.executable), "support-agent"),
            "ask",
            "How do I reset my password?",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert '"name": "support_agent.turn"' in done.stdout
    assert '"name": "support_agent.dependency.kb_search"' in done.stdout


@pytest.fixture
def cli_env(sample_kb_data, tmp_path) -> dict[str, str]:
    import shutil

    data = tmp_path / "data"
    shutil.copytree(sample_kb_data, data)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SUPPORT_", "OPENAI_", "OTEL_"))
    }
    env["SUPPORT_DATA_DIR"] = str(data)
    return env
