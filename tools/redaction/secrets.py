"""Deterministic detection and redaction of secrets customers type into chat.

Payment card numbers (Luhn-checked), passwords and PINs, one-time codes,
government ids (US SSN, UK NINO, passport numbers when labelled), IBANs and
API-key-like tokens. Redaction runs before anything is extracted into memory
or written to a log; the conversation checkpoint keeps what the customer
typed (it is their conversation), memories never do.
"""

from __future__ import annotations

import logging
import re

__all__ = ["RedactingFilter", "contains_secret", "install_log_redaction", "redact"]

_CARD = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
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


def redact(text: str) -> str:
    """``text`` with every detected secret replaced by a ``[REDACTED <kind>]`` marker.

    >>> redact("my card is 4111 1111 1111 1111 and my password is hunter22")
    'my card is [REDACTED card] and my password is [REDACTED]'
    >>> redact("order 123456789 arrived")
    'order 123456789 arrived'
    >>> redact("connect to postgresql://app:s3cret@db:5432/x failed")
    'connect to postgresql://app:***@db:5432/x failed'
    """

    def card(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group(0))
        return "[REDACTED card]" if 13 <= len(digits) <= 19 and _luhn(digits) else match.group(0)

    text = _CARD.sub(card, text)
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


class RedactingFilter(logging.Filter):
    """A logging filter that redacts secrets from every record's message."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message with secrets redacted; never drops a record."""
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install_log_redaction() -> None:
    """Add a ``RedactingFilter`` to every handler of the root logger (idempotent)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
