"""The resilience layer: every tool call and model call behind timeout, retries and a breaker.

Order of protection for one call: retries (tenacity) around the circuit breaker
(aiobreaker) around an asyncio timeout around the call. So each attempt counts
towards the breaker, an open circuit fails fast and is not retried, and only
errors marked retryable are retried, with exponential backoff and jitter, or
after the ``Retry-After`` a 429 asked for (capped). Writes without an
idempotency key are never retried. LangGraph's interrupt exceptions
(``GraphBubbleUp``) pass through untouched.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiobreaker import CircuitBreakerError
from langchain_core.messages.tool import ToolOutputMixin
from langchain_core.tools import BaseTool, StructuredTool
from langgraph.errors import GraphBubbleUp
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt
from tenacity.stop import stop_base

from state import PoliciesSettings, ResiliencePolicy
from tools.resilience.breakers import BreakerRegistry, is_trial, seconds_until_trial
from tools.resilience.deadline import MIN_ATTEMPT_S, seconds_left
from tools.resilience.envelope import ToolResult
from tools.resilience.errors import (
    CircuitOpenError,
    DeadlineError,
    RateLimitedError,
    ToolError,
    classify,
)
from tools.telemetry import dependency_span

__all__ = ["Resilience", "with_resilience"]

logger = logging.getLogger(__name__)
T = TypeVar("T")


def _is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, ToolError) and exc.retryable


class Resilience:
    """Runs calls under the policy and breaker of the dependency they belong to."""

    def __init__(self, policies: PoliciesSettings, breakers: BreakerRegistry) -> None:
        self.policies = policies
        self.breakers = breakers

    def policy(self, name: str) -> ResiliencePolicy:
        """The policy for dependency ``name``."""
        return self.policies.for_tool(name)

    async def call(
        self,
        name: str,
        fn: Callable[[], Awaitable[T]],
        *,
        policy: ResiliencePolicy | None = None,
        idempotency_key: str | None = None,
    ) -> tuple[T, int]:
        """Run ``fn`` protected; return (result, attempts) or raise a ``ToolError``."""
        policy = policy or self.policy(name)
        breaker = self.breakers.get(name, policy)
        attempts = 0
        failed: ToolError | None = None  # the failure by which this call opened the circuit
        retry_allowed = policy.idempotent or idempotency_key is not None
        max_attempts = policy.max_attempts if retry_allowed else 1

        async def attempt() -> T:
            nonlocal attempts, failed
            left = seconds_left()
            if left is not None and left < MIN_ATTEMPT_S:
                raise DeadlineError(f"no time left in this turn for {name}", tool=name)
            timeout = policy.timeout_s if left is None else min(policy.timeout_s, left)
            if is_trial(breaker):  # it failed until now: find out quickly, not at their cost
                timeout = min(timeout, policy.probe_timeout_s)
            attempts += 1
            try:
                # The breaker sees our error types, so it can ignore the caller's own faults.
                return await breaker.call_async(_translated, name, fn, timeout)
            except GraphBubbleUp:
                raise
            except CircuitBreakerError as exc:
                cause = exc.__cause__
                if cause is not None:  # this failure just opened the circuit
                    failed = cause if isinstance(cause, ToolError) else classify(cause, name)
                    raise failed from cause
                raise CircuitOpenError(
                    f"{name} is failing; calls are paused for {seconds_until_trial(breaker):.0f} s",
                    tool=name,
                    reopens_in=seconds_until_trial(breaker),
                ) from exc

        retrying = AsyncRetrying(
            stop=stop_after_attempt(max_attempts) | stop_when(_out_of_time),
            wait=_wait(policy),
            retry=retry_if_exception(_is_retryable),
            before_sleep=lambda state: _log_retry(name, state),
            reraise=True,
        )
        with dependency_span(name, breaker.current_state.name.lower()) as span:
            try:
                result: T = await retrying(attempt)
            except ToolError as error:
                if isinstance(error, CircuitOpenError) and failed is not None:
                    error = failed  # our own attempt opened it: say what happened
                error.attempts = attempts
                span.set_attribute("support.attempts", attempts)
                raise error from error.__cause__
            span.set_attribute("support.attempts", attempts)
        return result, attempts

    async def run(
        self,
        name: str,
        fn: Callable[[], Awaitable[Any]],
        *,
        policy: ResiliencePolicy | None = None,
        idempotency_key: str | None = None,
    ) -> ToolResult:
        """Like ``call`` but never raises a ``ToolError``: returns the result envelope."""
        started = time.perf_counter()
        try:
            data, attempts = await self.call(
                name, fn, policy=policy, idempotency_key=idempotency_key
            )
        except ToolError as error:
            return ToolResult(
                tool=name,
                status="error",
                error_kind=error.kind,
                message=str(error),
                retryable=error.retryable,
                latency_ms=round((time.perf_counter() - started) * 1000, 2),
                attempts=error.attempts,
            )
        return ToolResult(
            tool=name,
            status="ok",
            data=data,
            latency_ms=round((time.perf_counter() - started) * 1000, 2),
            attempts=attempts,
        )


async def _translated(name: str, fn: Callable[[], Awaitable[T]], timeout_s: float) -> T:
    """Run ``fn`` under its timeout, translating third-party errors (never interrupts)."""
    try:
        async with asyncio.timeout(timeout_s):
            return await fn()
    except GraphBubbleUp:
        raise
    except Exception as exc:
        raise classify(exc, name) from exc


class stop_when(stop_base):
    """A tenacity stop condition from a predicate."""

    def __init__(self, predicate: Callable[[RetryCallState], bool]) -> None:
        self.predicate = predicate

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self.predicate(retry_state)


def _out_of_time(state: RetryCallState) -> bool:
    """No retry when its wait (a backoff, a 429's Retry-After) and an attempt would not fit."""
    left = seconds_left()
    return left is not None and left < state.upcoming_sleep + MIN_ATTEMPT_S


def _wait(policy: ResiliencePolicy) -> Callable[[RetryCallState], float]:
    """Exponential backoff with full jitter; a 429's Retry-After wins (capped)."""

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RateLimitedError) and exc.retry_after is not None:
            return min(exc.retry_after, policy.backoff_max_s)
        ceiling = min(
            policy.backoff_max_s, policy.backoff_initial_s * 2 ** (state.attempt_number - 1)
        )
        return random.uniform(0, ceiling)

    return wait


def _log_retry(name: str, state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    sleep = state.next_action.sleep if state.next_action else 0.0
    logger.warning(
        "%s failed (%s, attempt %d); retrying in %.2f s",
        name,
        getattr(exc, "kind", type(exc).__name__),
        state.attempt_number,
        sleep,
    )


def with_resilience(
    tool: BaseTool,
    resilience: Resilience,
    policy: ResiliencePolicy | None = None,
    *,
    dependency: str | None = None,
) -> BaseTool:
    """The same tool (name, description, schema) behind the resilience layer.

    ``dependency`` names the policy and circuit breaker (default: the tool's name), so
    tools that use the same backend share one breaker. The model sees
    ``ToolResult.for_model()`` as the tool's output; the full envelope is the tool
    message's artifact, for the graph.
    """
    name = dependency or tool.name

    async def guarded(**kwargs: Any) -> tuple[Any, dict[str, Any]]:
        result = await resilience.run(name, lambda: tool.ainvoke(kwargs), policy=policy)
        if isinstance(result.data, ToolOutputMixin):  # a Command that also updates state
            return result.data, {**result.as_dict(), "data": None}
        return result.for_model(), result.as_dict()

    return StructuredTool.from_function(
        coroutine=guarded,
        name=tool.name,
        description=tool.description,
        args_schema=tool.args_schema,
        response_format="content_and_artifact",
    )
