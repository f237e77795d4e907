"""The turn deadline: every call of a turn fits in one budget, end to end.

The guard stamps each new turn with ``deadline_at`` (wall-clock seconds, in the state
so it holds across nodes and server workers); ``graph.builder`` runs each node inside
``deadline_scope`` so the resilience layer sees it without every call passing it on.
An attempt gets what is left minus a reserve for the fallback (the extractive answer,
the rules), a retry happens only when its wait and a useful attempt still fit, and a
``Retry-After`` that does not fit means the fallback now.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar

__all__ = [
    "FALLBACK_RESERVE_S",
    "MIN_ATTEMPT_S",
    "deadline_scope",
    "seconds_left",
]

FALLBACK_RESERVE_S = 1.0
"""Kept back from every call for what the turn does when the call fails."""
MIN_ATTEMPT_S = 0.5
"""An attempt with less time than this is not worth starting."""

_deadline: ContextVar[float | None] = ContextVar("turn_deadline", default=None)


@contextlib.contextmanager
def deadline_scope(at: float | None) -> Iterator[None]:
    """Calls inside share the deadline ``at`` (epoch seconds; None or 0: none)."""
    token = _deadline.set(at or None)
    try:
        yield
    finally:
        _deadline.reset(token)


def seconds_left() -> float | None:
    """Seconds a call may still take in this turn (None: no deadline), reserve deducted.

    >>> with deadline_scope(time.time() + 10):
    ...     9.5 > seconds_left() > 8.5
    True
    >>> seconds_left() is None
    True
    """
    at = _deadline.get()
    if at is None:
        return None
    return at - time.time() - FALLBACK_RESERVE_S
