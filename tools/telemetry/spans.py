"""The spans and metrics of a turn, with what an operator needs and no personal data.

Attributes are identifiers and codes only (tenant, thread, node, dependency, outcome,
route reasons, degraded reason, breaker state, attempts): never message text, queries,
answers, memories or file contents.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.trace import Span, Status, StatusCode

__all__ = ["annotate_node", "dependency_span", "node_span", "record_turn", "turn_span"]

_tracer = trace.get_tracer("support_agent")
_meter = metrics.get_meter("support_agent")
_turns = _meter.create_counter("support_agent.turns", description="Turns by outcome.")
_degraded = _meter.create_counter(
    "support_agent.turns.degraded", description="Turns answered with a dependency failing."
)
_latency = _meter.create_histogram(
    "support_agent.turn.duration", unit="ms", description="End-to-end turn latency."
)
_breaker = _meter.create_counter(
    "support_agent.dependency.calls", description="Dependency calls by result and breaker state."
)

_STATE_ATTRIBUTES = ("outcome", "route", "degraded", "kb_error")
"""Codes a node's update may carry that belong on its span."""


@contextlib.contextmanager
def turn_span(tenant_id: str, thread_id: str) -> Iterator[Span]:
    """The span of one turn (the embedded runner; node spans nest under it)."""
    with _tracer.start_as_current_span(
        "support_agent.turn",
        attributes={"support.tenant_id": tenant_id, "support.thread_id": thread_id},
    ) as span:
        yield span


@contextlib.contextmanager
def node_span(name: str) -> Iterator[Span]:
    """The span of one graph node."""
    with _tracer.start_as_current_span(
        f"support_agent.node.{name}", attributes={"support.node": name}
    ) as span:
        yield span


def annotate_node(span: Span, update: Any) -> None:
    """Put the routing codes of a node's state update on its span (never text)."""
    if not isinstance(update, Mapping) or not span.is_recording():
        return
    for key in _STATE_ATTRIBUTES:
        value = update.get(key)
        if value:
            span.set_attribute(f"support.{key}", str(value))
    reasons = update.get("route_reasons")
    if reasons:
        span.set_attribute("support.route_reasons", [str(r) for r in reasons])


@contextlib.contextmanager
def dependency_span(name: str, breaker_state: str) -> Iterator[Span]:
    """The span of one protected dependency call (all its attempts)."""
    started = time.perf_counter()
    with _tracer.start_as_current_span(
        f"support_agent.dependency.{name}",
        attributes={"support.dependency": name, "support.breaker_state": breaker_state},
    ) as span:
        result = "ok"
        try:
            yield span
        except BaseException as exc:
            result = str(getattr(exc, "kind", type(exc).__name__))
            span.set_attribute("support.error_kind", result)
            span.set_status(Status(StatusCode.ERROR, result))
            raise
        finally:
            span.set_attribute(
                "support.latency_ms", round((time.perf_counter() - started) * 1000, 2)
            )
            _breaker.add(1, {"dependency": name, "result": result, "breaker_state": breaker_state})


def record_turn(tenant_id: str, outcome: str, degraded: str | None, latency_ms: float) -> None:
    """Count a finished turn and its latency."""
    _turns.add(1, {"tenant": tenant_id, "outcome": outcome})
    _latency.record(latency_ms, {"tenant": tenant_id, "outcome": outcome})
    if degraded:
        _degraded.add(1, {"tenant": tenant_id, "degraded": degraded})
