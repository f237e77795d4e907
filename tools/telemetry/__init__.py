"""OpenTelemetry: spans for turns, nodes and dependency calls, and turn metrics.

A no-op unless an exporter is configured with the standard variables; never records a
customer's words.
"""

from tools.telemetry.setup import (
    TraceIds,
    configure_telemetry,
    install_trace_ids,
    telemetry_enabled,
)
from tools.telemetry.spans import (
    annotate_node,
    dependency_span,
    node_span,
    record_turn,
    turn_span,
)

__all__ = [
    "TraceIds",
    "annotate_node",
    "configure_telemetry",
    "dependency_span",
    "install_trace_ids",
    "node_span",
    "record_turn",
    "telemetry_enabled",
    "turn_span",
]
