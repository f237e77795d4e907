"""Exporters from the standard OpenTelemetry variables, installed once per process.

``OTEL_TRACES_EXPORTER`` (``otlp``, ``console`` or ``none``) and
``OTEL_EXPORTER_OTLP_ENDPOINT`` (which implies ``otlp``), as the OpenTelemetry
specification names them, plus ``OTEL_SERVICE_NAME``. Without any of them nothing is
installed and the API's no-op tracer and meter cost next to nothing. Metrics are
exported over OTLP with the traces (``OTEL_METRICS_EXPORTER=none`` turns them off).
"""

from __future__ import annotations

import logging
import os
import threading

from opentelemetry import metrics, trace

__all__ = ["TraceIds", "configure_telemetry", "install_trace_ids", "telemetry_enabled"]

_lock = threading.Lock()
_configured = False


def _traces_exporter() -> str:
    chosen = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if chosen:
        return chosen
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    )
    return "otlp" if endpoint else "none"


def telemetry_enabled() -> bool:
    """Whether the environment asks for traces to be exported."""
    return _traces_exporter() not in ("", "none")


def configure_telemetry() -> bool:
    """Install the exporters the environment asks for (once); whether any was installed.

    Does nothing when a tracer provider is already installed (by the server or a test).
    """
    global _configured
    with _lock:
        if _configured or not telemetry_enabled():
            return _configured
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            BatchSpanProcessor,
            ConsoleSpanExporter,
            SimpleSpanProcessor,
        )

        resource = Resource.create(
            {"service.name": os.environ.get("OTEL_SERVICE_NAME", "support-agent")}
        )
        provider = TracerProvider(resource=resource)
        if _traces_exporter() == "console":
            provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
            if os.environ.get("OTEL_METRICS_EXPORTER", "otlp").lower() != "none":
                _install_metrics(resource)
        trace.set_tracer_provider(provider)
        _configured = True
        return True


def _install_metrics(resource: object) -> None:
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    reader = PeriodicExportingMetricReader(OTLPMetricExporter())
    metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=[reader]))  # type: ignore[arg-type]


class TraceIds(logging.Filter):
    """Adds the current trace and span ids to every log record (``%(trace_id)s``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every record; stamp it with the ids (empty outside a span)."""
        context = trace.get_current_span().get_span_context()
        record.trace_id = format(context.trace_id, "032x") if context.is_valid else ""
        record.span_id = format(context.span_id, "016x") if context.is_valid else ""
        return True


def install_trace_ids(logger: logging.Logger | None = None) -> None:
    """Give the root logger's handlers the trace ids (idempotent)."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, TraceIds) for f in handler.filters):
            handler.addFilter(TraceIds())
