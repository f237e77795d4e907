"""Log redaction keeps every record's types (structlog's event dicts) and only masks cards."""

from __future__ import annotations

import io
import logging
import uuid

import pytest

from tools.redaction.secrets import RedactingFilter, redact

CARD = "4111111111111111"


def _record(msg: object, args: tuple[object, ...] | None = ()) -> logging.LogRecord:
    return logging.LogRecord("support", logging.INFO, __file__, 1, msg, args, None)


def test_a_structlog_event_dict_stays_a_dict_with_the_card_masked() -> None:
    event = {
        "event": f"paid with {CARD}",
        "level": "info",
        "run_id": "1ef4c0b2-3a5d-4e6f-8a7b-9c0d1e2f3a4b",
        "count": 3,
        "nested": {"note": f"card {CARD}", "items": [f"x {CARD}", 7], "pair": (CARD, 1.5)},
    }
    record = _record(event)
    assert RedactingFilter().filter(record)
    assert isinstance(record.msg, dict)
    assert set(record.msg) == set(event)
    assert record.msg["event"] == "paid with [REDACTED card]"
    assert record.msg["level"] == "info" and record.msg["count"] == 3
    assert record.msg["run_id"] == event["run_id"]
    assert record.msg["nested"]["note"] == "card [REDACTED card]"
    assert record.msg["nested"]["items"] == ["x [REDACTED card]", 7]
    assert record.msg["nested"]["pair"] == ("[REDACTED card]", 1.5)
    assert record.args == ()


def test_a_structlog_record_still_formats_through_the_processor_formatter() -> None:
    structlog = pytest.importorskip("structlog")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.KeyValueRenderer(key_order=["event"]),
            ]
        )
    )
    stdlib_logger = logging.getLogger(f"test-log-redaction-{uuid.uuid4().hex}")
    stdlib_logger.propagate = False
    stdlib_logger.setLevel(logging.INFO)
    stdlib_logger.addHandler(handler)
    logger = structlog.wrap_logger(
        stdlib_logger,
        processors=[structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        wrapper_class=structlog.stdlib.BoundLogger,
    )
    try:
        logger.info(f"customer said card 4111 1111 1111 1111 on {CARD}", thread="t-1")
    finally:
        stdlib_logger.removeHandler(handler)
    line = stream.getvalue()
    assert "[REDACTED card] on [REDACTED card]" in line
    assert "thread='t-1'" in line
    assert CARD not in line and "4111 1111" not in line


@pytest.mark.parametrize(
    "text",
    [
        "task 550e8400-e29b-41d4-a716-446655440000 done",
        "task 21808263-4061-4375-b1eb-fe27eea55af9 done",
        "run_id=95448831-0648-4242-970e-74c49a8fa06c",
        "task 12345678-1234-1234-1234-123456789012 done",
        "task 4111111111111111abcdef0123456789 done",
        "task a3f14111111111111111e4b5d6c7d8e9 done",
        "task 41111111111111114111111111111111 done",
        "ref-4111111111111111 and ref_4111111111111111",
        "score 0.4111111111111111",
        "total 1234.4111111111111111 EUR",
        "file 4111111111111111.json",
    ],
)
def test_ids_and_floats_are_not_mistaken_for_cards(text: str) -> None:
    assert redact(text) == text
    record = _record(text)
    RedactingFilter().filter(record)
    assert record.msg == text


def test_a_task_id_in_a_log_record_is_kept() -> None:
    task_id = uuid.UUID("4111111111111111" + "0" * 16).hex
    record = _record("task %s finished in %s", (task_id, 0.4111111111111111))
    RedactingFilter().filter(record)
    assert record.getMessage() == f"task {task_id} finished in 0.4111111111111111"


@pytest.mark.parametrize(
    "text",
    [
        "my card is 4111 1111 1111 1111 thanks",
        "my card is 4111-1111-1111-1111 thanks",
        f"my card is {CARD} thanks",
        f"my card is {CARD}. thanks",
        "order 12 4111 1111 1111 1111 thanks",
        "amex 3782 822463 10005 thanks",
    ],
)
def test_card_numbers_in_a_sentence_are_masked(text: str) -> None:
    cleaned = redact(text)
    assert "[REDACTED card]" in cleaned
    assert "4111" not in cleaned and "3782" not in cleaned
    assert cleaned.startswith(text.split(" ", 1)[0]) and "thanks" in cleaned


def test_non_luhn_and_short_numbers_are_kept() -> None:
    for text in ("card 4111 1111 1111 1112", "order 123456789012", "phone +1 415 555 2671"):
        assert redact(text) == text


@pytest.mark.parametrize("msg", [ValueError(f"bad card {CARD}"), 4111111111111111, None])
def test_a_message_that_is_neither_str_nor_dict_is_untouched(msg: object) -> None:
    record = _record(msg)
    RedactingFilter().filter(record)
    assert record.msg is msg


def test_args_are_redacted_only_as_strings_and_never_stringified() -> None:
    exc = ValueError("boom")
    record = _record("card %s count %d err %r extra %s", (CARD, 3, exc, [CARD, 2]))
    RedactingFilter().filter(record)
    assert isinstance(record.msg, str)
    assert record.args == ("[REDACTED card]", 3, exc, ["[REDACTED card]", 2])
    assert record.args is not None and record.args[2] is exc
    assert CARD not in record.getMessage()


def test_mapping_args_are_redacted_in_place() -> None:
    record = _record("card %(card)s x %(n)d", None)
    record.args = {"card": CARD, "n": 5}
    RedactingFilter().filter(record)
    assert record.args == {"card": "[REDACTED card]", "n": 5}
    assert record.getMessage() == "card [REDACTED card] x 5"


def test_a_secret_that_only_shows_once_formatted_is_still_redacted() -> None:
    record = _record("pw: %s", ("hunter22",))
    RedactingFilter().filter(record)
    assert isinstance(record.msg, str)
    assert "hunter22" not in record.getMessage()


def test_a_record_without_secrets_is_left_as_it_was() -> None:
    event = {"event": "hello", "n": 1}
    record = _record(event)
    RedactingFilter().filter(record)
    assert record.msg is event
    record = _record("plain %s", ("words",))
    RedactingFilter().filter(record)
    assert record.msg == "plain %s" and record.args == ("words",)
