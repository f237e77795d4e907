"""The resilience layer.

Errors, the result envelope, circuit breakers, retries, the bounded executor and
lazy initialisation.

Every call to a dependency (a tool, the model, a database) goes through
``Resilience``; nothing here knows what the dependency does.
"""

from tools.resilience.breakers import BreakerRegistry, SharedBreakerStorage
from tools.resilience.envelope import ToolOutput, ToolResult
from tools.resilience.errors import (
    CircuitOpenError,
    DependencyUnavailableError,
    InitializationError,
    InvalidRequestError,
    MalformedResponseError,
    RateLimitedError,
    SupportAgentError,
    ThreadAccessError,
    ToolError,
    ToolTimeoutError,
    classify,
)
from tools.resilience.executor import BlockingExecutor, ExecutorClosedError
from tools.resilience.layer import Resilience, with_resilience
from tools.resilience.lazy import LazyResource

__all__ = [
    "BlockingExecutor",
    "BreakerRegistry",
    "CircuitOpenError",
    "DependencyUnavailableError",
    "ExecutorClosedError",
    "InitializationError",
    "InvalidRequestError",
    "LazyResource",
    "MalformedResponseError",
    "RateLimitedError",
    "Resilience",
    "SharedBreakerStorage",
    "SupportAgentError",
    "ThreadAccessError",
    "ToolError",
    "ToolOutput",
    "ToolResult",
    "ToolTimeoutError",
    "classify",
    "with_resilience",
]
