import logging

from opentelemetry.sdk.trace import TracerProvider

from tools.telemetry import TraceIds


def _record() -> logging.LogRecord:
    return logging.LogRecord("x", logging.INFO, __file__, 1, "a line", None, None)


def test_a_log_line_inside_a_span_carries_its_trace_and_span_ids():
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("turn") as span:
        record = _record()
        assert TraceIds().filter(record)
    assert record.trace_id == format(span.get_span_context().trace_id, "032x")
    assert record.span_id == format(span.get_span_context().span_id, "016x")


def test_outside_a_span_the_ids_are_empty_not_missing():
    record = _record()
    assert TraceIds().filter(record)
    assert record.trace_id == "" and record.span_id == ""
