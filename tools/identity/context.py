"""Who a run is for, read from the run's context (never from model-written arguments)."""

from __future__ import annotations

from typing import Any

from state import Context

__all__ = ["run_context", "thread_of"]


def run_context(value: Any) -> Context:
    """The run's ``Context``; servers may hand it over as a plain dict (or not at all)."""
    if isinstance(value, Context):
        return value
    if isinstance(value, dict):
        known = {k: v for k, v in value.items() if k in Context.__dataclass_fields__}
        return Context(**known)
    return Context()


def thread_of(config: Any) -> str:
    """The thread id of a run's config ("" outside a thread)."""
    return str(((config or {}).get("configurable") or {}).get("thread_id") or "")
