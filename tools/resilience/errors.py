"""One error hierarchy for every tool and the model.

::

    SupportAgentError
    ├── ThreadAccessError               a thread belongs to another customer
    ├── AuthenticationError             no valid token for the server API (HTTP 401)
    ├── IdentityError                   the run's context disagrees with the caller's token
    └── ToolError                       .retryable says whether a retry may help
        ├── ToolTimeoutError            retryable: the call exceeded its timeout
        ├── DependencyUnavailableError  retryable: connection refused, 5xx, store down
        │   └── RateLimitedError        retryable: 429, honours .retry_after (seconds)
        ├── CircuitOpenError            NOT retryable: the breaker is open, fail fast
        ├── InitializationError         NOT retryable now; initialisation is retried later
        ├── InvalidRequestError         NOT retryable: bad input, auth, 4xx
        └── MalformedResponseError      NOT retryable: the dependency answered nonsense

Third-party errors are translated at the boundary (``classify``) with
``raise ToolError(...) from exc``. LangGraph's interrupt exceptions
(``GraphBubbleUp``) are never translated and never retried.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from typing import Any

__all__ = [
    "AuthenticationError",
    "CircuitOpenError",
    "DeadlineError",
    "DependencyUnavailableError",
    "IdentityError",
    "InitializationError",
    "InvalidRequestError",
    "MalformedResponseError",
    "MissingDataError",
    "RateLimitedError",
    "StoreUnavailableError",
    "SupportAgentError",
    "ThreadAccessError",
    "ToolError",
    "ToolTimeoutError",
    "classify",
    "store_fault",
]


class SupportAgentError(Exception):
    """Base of every error this project raises on purpose."""


class ThreadAccessError(SupportAgentError):
    """The conversation thread belongs to another tenant or customer."""


class AuthenticationError(SupportAgentError):
    """The caller of the server API could not be authenticated (HTTP 401)."""


class IdentityError(SupportAgentError):
    """The run asks to act as someone its caller may not act as (refused, nothing returned)."""


class StoreUnavailableError(SupportAgentError):
    """The conversation store (the checkpointer's or the application's database) is down.

    What the embedded runner and the command line raise instead of a driver's exception:
    one line for the user, the cause chained for the logs.
    """

    def __init__(self, message: str = "the conversation store is unavailable; try again") -> None:
        super().__init__(message)


def store_fault(exc: BaseException) -> bool:
    """Whether ``exc`` says a database cannot be reached (not that a query was wrong)."""
    import sqlite3

    from sqlalchemy import exc as sa

    if isinstance(exc, sa.DBAPIError):
        return isinstance(exc, sa.OperationalError | sa.InterfaceError) or bool(
            exc.connection_invalidated
        )
    if isinstance(exc, sqlite3.OperationalError):
        return True
    try:
        import psycopg
        import psycopg_pool
    except ImportError:  # the Postgres extra is not installed
        return False
    return isinstance(
        exc, psycopg.OperationalError | psycopg.InterfaceError | psycopg_pool.PoolTimeout
    )


class ToolError(SupportAgentError):
    """A tool or the model failed; ``kind`` names the failure for the result envelope."""

    kind = "tool_error"
    retryable = False

    def __init__(self, message: str, *, tool: str = "") -> None:
        super().__init__(message)
        self.tool = tool
        self.attempts = 0
        """How many attempts were made before giving up (set by the resilience layer)."""


class ToolTimeoutError(ToolError):
    """The call did not finish within its timeout."""

    kind = "timeout"
    retryable = True


class DependencyUnavailableError(ToolError):
    """The dependency could not be reached or failed on its side."""

    kind = "unavailable"
    retryable = True


class RateLimitedError(DependencyUnavailableError):
    """The dependency asked us to slow down (HTTP 429)."""

    kind = "rate_limited"

    def __init__(self, message: str, *, tool: str = "", retry_after: float | None = None) -> None:
        super().__init__(message, tool=tool)
        self.retry_after = retry_after


class CircuitOpenError(ToolError):
    """The circuit breaker is open: the call was not attempted."""

    kind = "circuit_open"

    def __init__(self, message: str, *, tool: str = "", reopens_in: float = 0.0) -> None:
        super().__init__(message, tool=tool)
        self.reopens_in = reopens_in


class DeadlineError(ToolError):
    """The turn's deadline left no time for this call (or for another attempt)."""

    kind = "deadline"


class MissingDataError(ToolError):
    """Data the records say exists is not there (a vector store without its vectors)."""

    kind = "missing"


class InitializationError(ToolError):
    """The tool could not be set up; the next call tries again."""

    kind = "initialization"


class InvalidRequestError(ToolError):
    """The request was refused as invalid (bad input, authentication, other 4xx)."""

    kind = "invalid_request"


class MalformedResponseError(ToolError):
    """The dependency answered, but not with anything usable."""

    kind = "malformed_response"


def _retry_after(headers: Any) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date), if present."""
    if headers is None:
        return None
    value = headers.get("retry-after") or headers.get("Retry-After")
    if value is None:
        ms = headers.get("retry-after-ms")
        return float(ms) / 1000 if ms else None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def classify(exc: BaseException, tool: str) -> ToolError:
    """Translate a third-party exception into this hierarchy (never called on interrupts)."""
    if isinstance(exc, ToolError):
        return exc
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return ToolTimeoutError(f"{tool} timed out", tool=tool)
    name = type(exc).__name__
    status = getattr(exc, "status_code", None) or getattr(
        getattr(exc, "response", None), "status_code", None
    )
    text = f"{tool} failed: {name}: {str(exc)[:200]}"
    if name == "APITimeoutError":
        return ToolTimeoutError(f"{tool} timed out", tool=tool)
    if status == 429 or name == "RateLimitError":
        headers = getattr(getattr(exc, "response", None), "headers", None)
        return RateLimitedError(text, tool=tool, retry_after=_retry_after(headers))
    if isinstance(status, int) and status >= 500:
        return DependencyUnavailableError(text, tool=tool)
    if isinstance(status, int) and 400 <= status < 500:
        return InvalidRequestError(text, tool=tool)
    if isinstance(exc, ConnectionError | OSError) or name in {
        "APIConnectionError",
        "ConnectError",
        "ConnectionError",
        "OperationalError",
        "InterfaceError",
        "ReadError",
        "RemoteProtocolError",
    }:
        return DependencyUnavailableError(text, tool=tool)
    if isinstance(exc, ValueError | KeyError | TypeError) or name in {
        "ValidationError",
        "JSONDecodeError",
        "APIResponseValidationError",
    }:
        return MalformedResponseError(text, tool=tool)
    return DependencyUnavailableError(text, tool=tool)
