"""Fault injection: each fault, what the customer gets, and what is stored."""

from __future__ import annotations

import psycopg
import pytest

from graph.embedded import open_agent
from state import Settings
from tests.conftest import SAMPLE_KB
from tests.fake_openai import model_settings
from tools.services import create_services

pytestmark = pytest.mark.integration

QUESTION = "How long do refunds take to show up on PayPal?"


@pytest.fixture
async def model_agent(sample_kb_data, embeddings, fake_openai):
    settings = model_settings(
        sample_kb_data,
        fake_openai,
        memory_enabled=False,  # these tests count the answer's requests only
        policies={
            "model": {
                "timeout_s": 1.0,
                "max_attempts": 2,
                "backoff_initial_s": 0.01,
                "backoff_max_s": 1.0,
                "breaker_fail_max": 3,
                "breaker_reset_s": 60,
            }
        },
    )
    services = await create_services(settings, embeddings=embeddings)
    async with open_agent(services=services, checkpointer="memory") as agent:
        yield agent
    await services.aclose()


async def _stored(agent, thread_id):
    return [role for role, _ in await agent.history(thread_id)]


async def test_model_5xx_is_retried_then_the_customer_gets_the_extractive_answer(
    model_agent, fake_openai
):
    fake_openai.mode = "error"
    result = await model_agent.ask(QUESTION)
    assert len(fake_openai.requests) == 2
    assert result.outcome == "answered" and result.degraded == "model_unavailable"
    assert "3-5 business days" in result.answer and result.citations
    assert await _stored(model_agent, result.thread_id) == ["human", "ai"]


async def test_model_429_honours_retry_after_and_then_answers(model_agent, fake_openai):
    fake_openai.next_modes = ["rate_limited"]
    fake_openai.retry_after = 0.3
    result = await model_agent.ask(QUESTION)
    assert len(fake_openai.requests) == 2
    assert result.degraded is None
    assert result.answer.startswith("FROM-THE-MODEL")


async def test_model_timeout_degrades(model_agent, fake_openai):
    fake_openai.mode = "slow"
    fake_openai.delay_s = 3.0
    result = await model_agent.ask(QUESTION)
    assert result.degraded == "model_timeout"
    assert result.outcome == "answered" and "3-5 business days" in result.answer


async def test_malformed_model_response_is_not_retried_and_degrades(model_agent, fake_openai):
    fake_openai.mode = "malformed"
    result = await model_agent.ask(QUESTION)
    assert len(fake_openai.requests) == 1
    assert result.degraded == "model_malformed_response"
    assert result.outcome == "answered" and result.citations


async def test_open_model_circuit_stops_calling_the_endpoint(model_agent, fake_openai):
    fake_openai.mode = "error"
    first = await model_agent.ask(QUESTION)  # 2 failed attempts
    second = await model_agent.ask(QUESTION, thread_id=first.thread_id)  # 3rd failure opens
    calls = len(fake_openai.requests)
    assert calls == 3
    third = await model_agent.ask(QUESTION, thread_id=first.thread_id)
    assert len(fake_openai.requests) == calls, "an open circuit must not reach the endpoint"
    assert second.degraded == "model_unavailable"  # what it met; its retry found the circuit open
    assert third.degraded == "model_circuit_open"
    assert third.outcome == "answered" and "3-5 business days" in third.answer
    assert await _stored(model_agent, first.thread_id) == ["human", "ai"] * 3


async def test_chroma_down_mid_conversation(chroma_server, tmp_path, embeddings):
    url, process = chroma_server
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path / "data",
        chroma_url=url,
        policies={"kb_search": {"timeout_s": 3, "max_attempts": 1}},
    )
    services = await create_services(settings, embeddings=embeddings)
    try:
        await services.kb.ingest([SAMPLE_KB / "refunds"], "default")
        async with open_agent(services=services) as agent:
            first = await agent.ask("What is your refund policy?")
            assert first.outcome == "answered" and first.degraded is None

            process.kill()
            process.wait(timeout=10)
            # Searched from the chunks and vectors this process already holds: Chroma is the
            # store, not on the search path, so nothing is degraded.
            during = await agent.ask(QUESTION, thread_id=first.thread_id)
            assert during.outcome == "answered" and during.degraded is None
            assert during.citations[0]["doc_id"] == "refund-timing-by-payment-method.md"
            off_topic = await agent.ask("Who painted the Mona Lisa?", thread_id=first.thread_id)
            assert off_topic.outcome == "abstained"
            assert await _stored(agent, first.thread_id) == ["human", "ai"] * 3
    finally:
        await services.aclose()

    # A process that never reached Chroma has no BM25 copy: an honest "try again".
    cold = await create_services(settings, embeddings=embeddings)
    try:
        async with open_agent(services=cold) as agent:
            result = await agent.ask(QUESTION)
            assert result.outcome == "abstained"
            assert result.route_reasons == ["kb_unavailable"]
            assert "can't reach our help articles" in result.answer
    finally:
        await cold.aclose()


async def test_postgres_connection_dropped_mid_conversation(
    sample_kb_data, embeddings, postgres_url, postgres_server
):
    settings = Settings(
        _env_file=None, data_dir=sample_kb_data, checkpointer="postgres", postgres_url=postgres_url
    )
    services = await create_services(settings, embeddings=embeddings)
    try:
        async with open_agent(services=services) as agent:
            first = await agent.ask("My Lumora Lock bolt is jammed")
            database = postgres_url.rsplit("/", 1)[1]
            async with await psycopg.AsyncConnection.connect(
                postgres_server, autocommit=True
            ) as admin:
                cursor = await admin.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    (database,),
                )
                killed = (await cursor.fetchone())[0]
            assert killed >= 1
            follow = await agent.ask("What batteries does it take?", thread_id=first.thread_id)
            assert follow.outcome == "answered"
            assert follow.citations[0]["doc_id"] == (
                "troubleshooting/lock-battery-and-jammed-lock.md"
            )
            assert await _stored(agent, first.thread_id) == ["human", "ai", "human", "ai"]
    finally:
        await services.aclose()


async def test_memory_store_failure_never_fails_the_turn(sample_agent, monkeypatch):
    async def broken(*args, **kwargs):
        raise ConnectionError("memory database is down")

    monkeypatch.setattr(sample_agent.services.memory, "remember_and_recall", broken)
    result = await sample_agent.ask(
        "I'm on the Pro plan. How do I reset my password?", user_id="frank"
    )
    assert result.outcome == "answered"
    assert result.degraded == "memory_unavailable"
    assert result.citations[0]["doc_id"] == "accounts/reset-your-password.md"


async def test_attachment_storage_down_never_fails_the_turn(sample_agent, tmp_path, monkeypatch):
    from sqlalchemy.exc import OperationalError

    note = tmp_path / "order.txt"
    note.write_text("Order 5521: Lumora Bulb x3")
    stored = await sample_agent.ask("Where is this order?", attachments=[note], user_id="gina")
    assert stored.attachments[0]["status"] == "converted"

    async def broken(*args, **kwargs):
        raise OperationalError("SELECT", {}, Exception("database is locked"))

    monkeypatch.setattr(sample_agent.services.attachments, "receive", broken)
    monkeypatch.setattr(sample_agent.services.attachments, "search", broken)
    second = tmp_path / "receipt.txt"
    second.write_text("Receipt 9")
    result = await sample_agent.ask(
        "How do I reset my password?",
        attachments=[second],
        thread_id=stored.thread_id,
        user_id="gina",
    )
    assert result.outcome == "answered"
    assert result.citations[0]["doc_id"] == "accounts/reset-your-password.md"
    assert "I couldn't read “receipt.txt”: I can't store files right now" in result.answer
    assert result.degraded == "attachments_unavailable"


async def test_what_the_customer_said_is_kept_when_the_model_hangs(
    sample_kb_data, embeddings, fake_openai
):
    fake_openai.mode, fake_openai.delay_s = "slow", 30.0
    settings = model_settings(
        sample_kb_data,
        fake_openai,
        memory_extraction_timeout_s=0.5,
        policies={"model": {"timeout_s": 20.0, "max_attempts": 1}},
    )
    services = await create_services(settings, embeddings=embeddings)
    try:
        async with open_agent(services=services, checkpointer="memory") as agent:
            await agent.ask(
                "I'm on the Pro plan. How do I reset my password?", user_id="slow-model-user"
            )
            kept = await services.memory.list_memories("default", "slow-model-user")
            assert any("Pro" in m["content"] for m in kept), kept
    finally:
        await services.aclose()


@pytest.mark.parametrize("fault", ["hang", "rate_limited"])
async def test_a_turn_is_answered_within_its_deadline_whatever_the_model_does(
    sample_kb_data, embeddings, fake_openai, fault
):
    """A hanging model or a 429 asking for 30 s: the extractive answer, inside the deadline."""
    import time

    fake_openai.mode = "slow" if fault == "hang" else "rate_limited"
    fake_openai.delay_s, fake_openai.retry_after = 60.0, 30
    settings = model_settings(
        sample_kb_data,
        fake_openai,
        memory_enabled=False,
        turn_deadline_s=3.0,
        policies={"model": {"timeout_s": 30.0, "max_attempts": 3, "backoff_max_s": 60.0}},
    )
    services = await create_services(settings, embeddings=embeddings)
    try:
        async with open_agent(services=services, checkpointer="memory") as agent:
            started = time.monotonic()
            result = await agent.ask(QUESTION)
            waited = time.monotonic() - started
    finally:
        await services.aclose()
    # A functional bound, not a speed goal: before the deadline this took 30-90 s.
    assert waited < 3.0 + 2.0, waited
    assert result.outcome == "answered" and "3-5 business days" in result.answer
    expected = "model_timeout" if fault == "hang" else "model_rate_limited"
    assert result.degraded == expected
    assert len(fake_openai.requests) == 1  # no retry that could not fit
