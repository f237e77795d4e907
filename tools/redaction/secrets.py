"""Deterministic detection and redaction of secrets customers type into chat.

Payment card numbers (Luhn-checked), passwords and PINs, one-time codes,
government ids (US SSN, UK NINO, passport numbers when labelled), IBANs and
API-key-like tokens. Redaction runs before anything is extracted into memory
or written to a log; the conversation checkpoint keeps what the customer
typed (it is their conversation), memories never do.
"""

from __future__ import annotations

import contextlib
import logging
import re
from typing import Any

__all__ = ["RedactingFilter", "contains_secret", "install_log_redaction", "redact"]

_CARD = re.compile(r"(?<!\w)(?<!\w[.-])\d+(?:[ -]\d+)*(?!\w)(?![.-]\w)")
"""A run of digit groups joined by single spaces or hyphens that is a token of its own.

Never digits inside a longer alphanumeric token (a UUID or hex id, ``ref-4111…``, a
file name) nor the digits after a decimal point (``0.4111111111111111``).
"""
_LABELLED = re.compile(
    r"(?i)\b(password|passcode|passwd|pwd|pw|pin|cvv|cvc|security code|one[- ]time (?:pass)?code|"
    r"otp|verification code|2fa code|auth(?:entication)? code)\b(\s*(?:is|was|:|=)\s*|\s+)"
    r"([^\s,;]{3,})"
)
_CODE = re.compile(r"(?i)\b(code)(\s*(?:is|was|:|=)?\s*)(\d{4,8})\b")
"""A bare "code 482913" is a one-time code; "error code E-104" is not (digits only)."""
_SSN = re.compile(r"\b\d{3}-\d{2}-\d{4}\b")
_NINO = re.compile(r"\b[A-CEGHJ-PR-TW-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]\b")
_PASSPORT = re.compile(
    r"(?i)\b(passport|driver'?s? licen[cs]e|national id)(?:\s+(?:number|no\.?))?"
    r"(\s*(?:is|:)?\s*)([A-Z0-9]{6,12})\b"
)
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){2,7}(?:\s?[A-Z0-9]{1,4})?\b")
_URL_PASSWORD = re.compile(r"\b([a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]+@", re.I)
_TOKEN = re.compile(r"\b(?:sk|pk|api|key|tok)[-_][A-Za-z0-9_-]{16,}\b")


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _is_card(words: list[str]) -> bool:
    digits = "".join(words).replace("-", "")
    return 13 <= len(digits) <= 19 and _luhn(digits)


def _mask_cards(match: re.Match[str]) -> str:
    """The run with its card numbers masked: the whole run, or space-separated words of it.

    A hyphenated group (``4111-1111-1111-1111``, an all-digit UUID) is one token: it is
    masked whole or not at all. Space-separated words are tried as a whole, then as the
    longest card-like stretches (``order 12 4111 1111 1111 1111``).
    """
    words = match.group(0).split(" ")
    if _is_card(words):
        return "[REDACTED card]"
    out: list[str] = []
    start = 0
    while start < len(words):
        for end in range(min(len(words), start + 19), start, -1):
            if end - start < len(words) and _is_card(words[start:end]):
                out.append("[REDACTED card]")
                start = end
                break
        else:
            out.append(words[start])
            start += 1
    return " ".join(out)


def redact(text: str) -> str:
    """``text`` with every detected secret replaced by a ``[REDACTED <kind>]`` marker.

    >>> redact("my card is 4111 1111 1111 1111 and my password is hunter22")
    'my card is [REDACTED card] and my password is [REDACTED]'
    >>> redact("order 123456789 arrived")
    'order 123456789 arrived'
    >>> redact("connect to postgresql://app:s3cret@db:5432/x failed")
    'connect to postgresql://app:***@db:5432/x failed'
    """
    text = _CARD.sub(_mask_cards, text)
    text = _LABELLED.sub(lambda m: f"{m.group(1)}{m.group(2)}[REDACTED]", text)
    text = _CODE.sub(lambda m: f"{m.group(1)}{m.group(2)}[REDACTED]", text)
    text = _PASSPORT.sub(lambda m: f"{m.group(1)}{m.group(2)}[REDACTED id]", text)
    text = _SSN.sub("[REDACTED id]", text)
    text = _NINO.sub("[REDACTED id]", text)
    text = _IBAN.sub("[REDACTED iban]", text)
    text = _URL_PASSWORD.sub(r"\1***@", text)
    return _TOKEN.sub("[REDACTED token]", text)


def contains_secret(text: str) -> bool:
    """Whether ``redact`` would change ``text``."""
    return redact(text) != text


_MAX_DEPTH = 16


def _redact_value(value: Any, depth: int = 0) -> Any:
    """``value`` with secrets redacted from its strings, keeping every type as it was.

    Strings are redacted; dicts (values only, same keys), lists and tuples (named tuples
    too) are redacted item by item; anything else is returned as it is. An unchanged
    value is returned itself, not a copy.
    """
    if isinstance(value, str):
        return redact(value)
    if depth >= _MAX_DEPTH:
        return value
    if isinstance(value, dict):
        changed = {k: v2 for k, v in value.items() if (v2 := _redact_value(v, depth + 1)) is not v}
        if not changed:
            return value
        result = dict(value) if type(value) is dict else value.copy()
        result.update(changed)
        return result
    if isinstance(value, list | tuple):
        items = [_redact_value(item, depth + 1) for item in value]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        if isinstance(value, list):
            return items
        if hasattr(value, "_fields"):
            return type(value)._make(items)  # type: ignore[attr-defined]
        return tuple(items)
    return value


class RedactingFilter(logging.Filter):
    """A logging filter that redacts secrets from every record, never changing its types.

    A ``str`` message is redacted as a string (with its ``%`` args); a ``dict`` message
    (structlog's event dict, under ``langgraph dev`` and Aegra) is redacted value by value
    and stays a dict with the same keys, so structlog's formatter still gets its dict. Any
    other message (an exception, a number) is left as it is. Args are redacted only where
    they are strings, or containers of strings; they are never turned into strings.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the record's message and args in place; never drops a record."""
        # A filter's exception would reach the code that logged: a line is never lost to it.
        with contextlib.suppress(Exception):
            self._redact(record)
        return True

    @staticmethod
    def _redact(record: logging.LogRecord) -> None:
        msg, args = record.msg, record.args
        new_args = _redact_value(args) if args else args
        if isinstance(msg, dict):
            record.msg, record.args = _redact_value(msg), new_args
            return
        if not isinstance(msg, str):
            record.args = new_args
            return
        new_msg = redact(msg)
        if not args:
            record.msg = new_msg
            return
        # A secret may only show once formatted ("pw: %s" % ("hunter22",)): check the
        # line as the handler will render it, and render it here if it still leaks.
        try:
            line = new_msg % new_args
        except (TypeError, ValueError, KeyError):
            line = None
        if line is not None and redact(line) == line:
            record.msg, record.args = new_msg, new_args
            return
        try:
            original = msg % args
        except (TypeError, ValueError, KeyError):
            record.msg, record.args = new_msg, new_args  # logging reports the bad format
            return
        record.msg, record.args = redact(original), None


def install_log_redaction() -> None:
    """Add a ``RedactingFilter`` to every handler of the root logger (idempotent)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
