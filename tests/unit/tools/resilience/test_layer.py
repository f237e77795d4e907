"""The resilience layer, one test per fault kind (no network)."""

from __future__ import annotations

import asyncio
import logging

import pytest
from langchain_core.messages import ToolCall
from langchain_core.tools import tool
from langgraph.errors import GraphInterrupt

from state import PoliciesSettings, ResiliencePolicy
from tools.resilience.breakers import BreakerRegistry
from tools.resilience.errors import (
    DependencyUnavailableError,
    InvalidRequestError,
    RateLimitedError,
)
from tools.resilience.layer import Resilience, with_resilience


def layer(**policy) -> tuple[Resilience, ResiliencePolicy]:
    defaults = dict(
        timeout_s=0.2,
        max_attempts=3,
        backoff_initial_s=0.0,
        backoff_max_s=0.05,
        breaker_fail_max=50,
        breaker_reset_s=0.3,
    )
    pol = ResiliencePolicy(**{**defaults, **policy})
    return Resilience(PoliciesSettings(), BreakerRegistry()), pol


class Script:
    """A dependency whose successive calls follow a script of behaviours."""

    def __init__(self, *steps):
        self.steps = list(steps)
        self.calls = 0

    async def __call__(self):
        step = self.steps[min(self.calls, len(self.steps) - 1)]
        self.calls += 1
        if step == "slow":
            await asyncio.sleep(5)
        if isinstance(step, BaseException):
            raise step
        return step


async def test_timeout_is_retried_then_reported_as_an_error_envelope():
    resilience, policy = layer(max_attempts=2)
    dependency = Script("slow")
    result = await resilience.run("dep", dependency, policy=policy)
    assert result.status == "error" and result.error_kind == "timeout"
    assert result.attempts == 2 and dependency.calls == 2
    assert "Try again later" in result.for_model()


async def test_slow_then_recovering_dependency_succeeds_on_retry():
    resilience, policy = layer()
    dependency = Script("slow", "fine")
    result = await resilience.run("dep", dependency, policy=policy)
    assert (result.status, result.data, result.attempts) == ("ok", "fine", 2)


async def test_non_retryable_exception_is_tried_once():
    resilience, policy = layer()
    dependency = Script(InvalidRequestError("bad input"))
    result = await resilience.run("dep", dependency, policy=policy)
    assert result.error_kind == "invalid_request" and dependency.calls == 1
    assert "Do not retry" in result.for_model()


async def test_unknown_exception_is_translated_not_leaked():
    resilience, policy = layer(max_attempts=1)
    result = await resilience.run("dep", Script(KeyError("boom")), policy=policy)
    assert result.status == "error" and result.error_kind == "malformed_response"
    assert "Traceback" not in result.message


async def test_rate_limit_waits_for_retry_after(caplog):
    resilience, policy = layer(backoff_max_s=5.0)
    dependency = Script(RateLimitedError("slow down", retry_after=0.25), "ok")
    with caplog.at_level(logging.WARNING, logger="tools.resilience.layer"):
        result = await resilience.run("dep", dependency, policy=policy)
    assert result.data == "ok" and dependency.calls == 2
    assert "rate_limited, attempt 1); retrying in 0.25 s" in caplog.text


async def test_retry_after_is_capped_by_the_policy(caplog):
    resilience, policy = layer(backoff_max_s=0.1)
    dependency = Script(RateLimitedError("slow down", retry_after=3600), "ok")
    with caplog.at_level(logging.WARNING, logger="tools.resilience.layer"):
        await resilience.run("dep", dependency, policy=policy)
    assert "retrying in 0.10 s" in caplog.text


async def test_writes_without_idempotency_key_are_never_retried():
    resilience, policy = layer(idempotent=False)
    once = Script(DependencyUnavailableError("down"), "written")
    assert (await resilience.run("write", once, policy=policy)).attempts == 1
    keyed = Script(DependencyUnavailableError("down"), "written")
    result = await resilience.run("write", keyed, policy=policy, idempotency_key="ticket-1")
    assert result.data == "written" and keyed.calls == 2


async def test_interrupts_pass_through_untouched_and_are_not_retried():
    resilience, policy = layer()
    dependency = Script(GraphInterrupt(()))
    with pytest.raises(GraphInterrupt):
        await resilience.call("dep", dependency, policy=policy)
    assert dependency.calls == 1


async def test_breaker_opens_after_n_failures_half_opens_and_closes():
    resilience, policy = layer(max_attempts=1, breaker_fail_max=3, breaker_reset_s=0.3)
    failing = Script(DependencyUnavailableError("down"))
    kinds = [(await resilience.run("dep", failing, policy=policy)).error_kind for _ in range(4)]
    assert kinds == ["unavailable", "unavailable", "unavailable", "circuit_open"]
    assert failing.calls == 3, "an open circuit must not call the dependency"
    assert resilience.breakers.states()["dep"] == "open"

    await asyncio.sleep(0.35)
    healthy = Script("back")
    result = await resilience.run("dep", healthy, policy=policy)
    assert result.data == "back" and healthy.calls == 1
    assert resilience.breakers.states()["dep"] == "closed"


async def test_failed_trial_call_reopens_the_circuit():
    resilience, policy = layer(max_attempts=1, breaker_fail_max=2, breaker_reset_s=0.2)
    failing = Script(DependencyUnavailableError("down"))
    for _ in range(2):
        await resilience.run("dep", failing, policy=policy)
    await asyncio.sleep(0.25)
    trial = await resilience.run("dep", failing, policy=policy)
    assert trial.error_kind == "unavailable" and failing.calls == 3
    assert (await resilience.run("dep", failing, policy=policy)).error_kind == "circuit_open"
    assert failing.calls == 3


async def test_open_circuit_is_not_retried():
    resilience, policy = layer(max_attempts=5, breaker_fail_max=1, breaker_reset_s=60)
    failing = Script(DependencyUnavailableError("down"))
    first = await resilience.run("dep", failing, policy=policy)
    # attempt 1 fails and opens the circuit; attempt 2 meets the open circuit; no attempt 3.
    # The turn says what happened to it (the dependency was down), not "circuit open".
    assert (first.error_kind, first.attempts, failing.calls) == ("unavailable", 2, 1)
    second = await resilience.run("dep", failing, policy=policy)
    assert (second.error_kind, second.attempts, failing.calls) == ("circuit_open", 1, 1)


async def test_flapping_dependency_never_trips_a_breaker_that_resets_on_success():
    resilience, policy = layer(max_attempts=1, breaker_fail_max=2)
    down = DependencyUnavailableError("down")
    flapping = Script(down, "up", down, "up", down, "up")
    statuses = [(await resilience.run("dep", flapping, policy=policy)).status for _ in range(6)]
    assert statuses == ["error", "ok"] * 3
    assert resilience.breakers.states()["dep"] == "closed"


async def test_invalid_requests_do_not_open_the_circuit():
    resilience, policy = layer(max_attempts=1, breaker_fail_max=1)
    for _ in range(3):
        await resilience.run("dep", Script(InvalidRequestError("bad")), policy=policy)
    assert resilience.breakers.states()["dep"] == "closed"


async def test_with_resilience_keeps_the_tools_face_and_returns_an_envelope():
    calls = {"n": 0}

    @tool
    async def lookup_order(order_id: str) -> str:
        """Look up an order by its id."""
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("order service down")
        return f"order {order_id}: shipped"

    resilience, policy = layer()
    wrapped = with_resilience(lookup_order, resilience, policy)
    assert wrapped.name == lookup_order.name
    assert wrapped.description == lookup_order.description
    assert wrapped.tool_call_schema.model_json_schema() == (
        lookup_order.tool_call_schema.model_json_schema()
    )
    message = await wrapped.ainvoke(
        ToolCall(name="lookup_order", args={"order_id": "A1"}, id="call-1", type="tool_call")
    )
    assert message.content == "order A1: shipped"
    assert message.artifact["status"] == "ok" and message.artifact["attempts"] == 2


async def test_failing_tool_tells_the_model_plainly():
    @tool
    async def flaky(query: str) -> str:
        """Always fails."""
        raise ConnectionError("refused")

    resilience, policy = layer(max_attempts=1)
    wrapped = with_resilience(flaky, resilience, policy)
    message = await wrapped.ainvoke(
        ToolCall(name="flaky", args={"query": "x"}, id="c", type="tool_call")
    )
    assert message.content.startswith("The flaky tool is unavailable (unavailable)")
    assert message.artifact["status"] == "error"


async def test_third_party_bad_requests_are_translated_before_the_breaker_counts_them():
    class BadRequestError(Exception):
        status_code = 400

    resilience, policy = layer(max_attempts=1, breaker_fail_max=2)
    for _ in range(4):
        result = await resilience.run("dep", Script(BadRequestError("bad")), policy=policy)
        assert result.error_kind == "invalid_request"
    assert resilience.breakers.states()["dep"] == "closed"


async def test_a_circuit_another_call_opened_is_reported_as_open():
    """Only a failure by which this call opened the circuit stands in for 'circuit open'."""
    import asyncio

    from tools.resilience.errors import RateLimitedError

    resilience, policy = layer(
        max_attempts=3, breaker_fail_max=2, breaker_reset_s=60, backoff_max_s=0.5
    )
    ours = Script(RateLimitedError("429", retry_after=0.3), "ok")
    mine = asyncio.create_task(resilience.run("dep", ours, policy=policy))
    await asyncio.sleep(0.05)  # our first attempt got a 429; we wait 0.3 s to retry
    one_shot = policy.model_copy(update={"max_attempts": 1})
    await resilience.run("dep", Script(DependencyUnavailableError("down")), policy=one_shot)
    result = await mine  # the other call's failure opened the circuit meanwhile
    assert (result.error_kind, ours.calls) == ("circuit_open", 1)
