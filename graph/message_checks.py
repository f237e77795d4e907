"""Input checks run before anything else touches a message.

Pure functions: they never raise on bad input, they describe it. A rejected
message gets a reply that says what was wrong, and the stored copy is
replaced by a short placeholder so a megabyte of garbage never lands in every
later checkpoint.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

__all__ = ["GuardResult", "check_message", "message_content", "message_text"]

_ALLOWED_CONTROLS = {"\n", "\t", "\r"}
_FILES_NOTE = re.compile(r"^\[attached: [^\n]*\]$", re.M)


@dataclass(frozen=True)
class GuardResult:
    """The cleaned text, or why the message cannot be processed."""

    text: str
    rejection: str | None = None
    """A reason code: ``empty``, ``too_long``, ``binary`` or ``unsupported_content``."""
    reply: str | None = None
    """What to tell the customer when rejected."""
    placeholder: str | None = None
    """What to store instead of the original message, when it should not be kept."""


def message_text(content: Any) -> tuple[str, int]:
    """Text of a message's content (a string or content blocks) and the count of non-text blocks.

    The guard's ``[attached: …]`` line (what the thread shows of a customer's files) is
    not the customer's words: searches, memories and routing never read it.
    """
    if isinstance(content, str):
        return _FILES_NOTE.sub("", content).strip() if "[attached: " in content else content, 0
    parts: list[str] = []
    other = 0
    for block in content if isinstance(content, list) else [content]:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, dict) and block.get("type") == "text":
            parts.append(str(block.get("text", "")))
        else:
            other += 1
    text = "\n".join(parts)
    return (_FILES_NOTE.sub("", text).strip() if "[attached: " in text else text), other


def check_message(content: Any, max_chars: int) -> GuardResult:
    """Validate and clean one user message."""
    text, non_text_blocks = message_text(content)
    if "\x00" in text or _control_ratio(text) > 0.1:
        return GuardResult(
            "",
            "binary",
            "Your message looks like binary data rather than text, so I could not read it. "
            "Please type your question, or attach the file instead of pasting it.",
            f"[binary content of {len(text)} characters removed]",
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    cleaned = "".join(
        ch
        for ch in unicodedata.normalize("NFC", text)
        if ch in _ALLOWED_CONTROLS or unicodedata.category(ch) not in {"Cc", "Cf", "Cs", "Co"}
    ).strip()
    if len(cleaned) > max_chars:
        return GuardResult(
            "",
            "too_long",
            f"Your message is {len(cleaned):,} characters long; I can read up to "
            f"{max_chars:,}. Please shorten it to the question and the key details "
            "(error messages, order numbers), or attach long logs as a file.",
            f"{cleaned[:200]}… [message of {len(cleaned):,} characters cut: over the limit]",
        )
    if not cleaned:
        if non_text_blocks:
            return GuardResult(
                "",
                "unsupported_content",
                "I received content I can't read and no question. Please describe your "
                "problem in words, or attach the file as a document.",
            )
        return GuardResult("", "empty", "Your message was empty. What can I help you with?")
    return GuardResult(cleaned)


def _control_ratio(text: str) -> float:
    if not text:
        return 0.0
    bad = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in _ALLOWED_CONTROLS)
    return bad / len(text)


def message_content(message: Any) -> str | list[Any]:
    """Any message shape as content LangChain accepts, so the guard always gets to reply.

    Strings and content blocks (dicts) pass; ``None`` is dropped; a lone block is a list
    of one; anything else (a bare number, a nested list) becomes its text. An empty
    result is an empty message, which the guard answers like any other. Used on every
    input, from the Python API and from a server's clients (``graph.intake``).

    >>> message_content(["hi", 3, None, {"type": "text", "text": "x"}, {"type": []}])
    ['hi', '3', {'type': 'text', 'text': 'x'}, {'type': '[]'}]
    >>> message_content(None), message_content(42), message_content({"text": "hi"})
    ('', '42', [{'text': 'hi'}])
    """
    if isinstance(message, str):
        return message
    if message is None:
        return ""
    if isinstance(message, dict):
        return [message]
    if not isinstance(message, list | tuple):
        return str(message)
    return [_block(b) for b in message if b is not None]


def _block(block: Any) -> str | dict[str, Any]:
    """A string, or a dict whose ``type`` is text (``{"type": []}`` would break lookups)."""
    if isinstance(block, str):
        return block
    if not isinstance(block, dict):
        return str(block)
    if "type" in block and not isinstance(block["type"], str):
        return {**block, "type": str(block["type"])}
    return block
