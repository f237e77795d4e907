"""The result envelope every resilient tool returns.

The graph reads the structure (status, error kind, data, latency, attempts);
the model reads ``for_model()``, a short text that says what happened and what
to do next, never a traceback.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = ["ToolOutput", "ToolResult"]

Status = Literal["ok", "error", "degraded"]


@dataclass
class ToolOutput:
    """A tool's text for the model and the passages it showed (citable in the answer)."""

    text: str
    passages: list[dict[str, Any]]

    def __str__(self) -> str:
        return self.text


@dataclass
class ToolResult:
    """Outcome of one tool call, after timeouts, retries and the circuit breaker."""

    tool: str
    status: Status
    data: Any = None
    error_kind: str | None = None
    """The ``ToolError.kind`` when the call failed (``timeout``, ``circuit_open``, ...)."""
    message: str = ""
    """A short, human-readable explanation (no secrets, no traceback)."""
    retryable: bool = False
    latency_ms: float = 0.0
    attempts: int = 0

    @property
    def ok(self) -> bool:
        """Whether data is usable (fully or degraded)."""
        return self.status != "error"

    def for_model(self) -> str:
        """What the model is shown as the tool's output."""
        if self.status == "ok":
            return self.data if isinstance(self.data, str) else str(self.data)
        if self.status == "degraded":
            return f"(partial result: {self.message})\n{self.data}"
        advice = "Try again later." if self.retryable else "Do not retry this call."
        return f"The {self.tool} tool is unavailable ({self.error_kind}): {self.message}. {advice}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (for logs, state and the tool message artifact)."""
        return asdict(self)
