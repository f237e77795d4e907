"""Attachments in a turn: take files out of the message, store them, and say what happened.

The guard calls ``receive_attachments`` so the stored message keeps the
customer's words and a short reference to each file, never its bytes (they
would otherwise be copied into every later checkpoint). ``merge_passages``
decides which of the thread's attachment passages join the knowledge-base
passages: the customer's own file grounds an answer when the question is
about it. Attachment text is data from the customer: it never reaches the
routing rules or memory extraction, which read only what the customer typed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from langgraph.errors import GraphBubbleUp
from sqlalchemy.exc import SQLAlchemyError

from state import Context, Passage
from tools.attachments.heap import trim_soon
from tools.attachments.input import IncomingFile, split_content
from tools.attachments.store import AttachmentRef
from tools.knowledge_base.lexical import tokenize
from tools.resilience.errors import ToolError
from tools.services import Services

__all__ = [
    "AttachmentIntake",
    "acknowledge",
    "merge_passages",
    "receive_attachments",
    "refers_to_attachment",
]

_FILE_WORDS = re.compile(
    r"\b(attach\w*|files?|documents?|pdfs?|invoices?|receipts?|spreadsheets?|screenshots?|"
    r"uploads?|uploaded|log ?files?|csv|excel|statements? i sent|the one i sent)\b",
    re.IGNORECASE,
)
_PRONOUN = re.compile(r"\b(it|its|this|that|them|those|these)\b", re.IGNORECASE)
_MIN_REFERRED_SCORE = 0.1
"""Even a file the customer points at must share something with the question."""
_MAX_ATTACHMENT_PASSAGES = 2
_NOT_STORED = "I can't store files right now; please send it again later"
logger = logging.getLogger(__name__)


@dataclass
class AttachmentIntake:
    """The message's text and what became of its files."""

    text: str
    received: list[AttachmentRef] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    """One sentence per file that could not be read, for the customer."""


def _notice(name: str, reason: str) -> str:
    return f"I couldn't read “{name}”: {reason}."


async def receive_attachments(
    services: Services, content: Any, context: Context, thread_id: str
) -> AttachmentIntake:
    """Store the message's files for this thread; refused ones get a notice."""
    limits = services.settings.attachments
    text, files, refused = split_content(content, limits.max_bytes)
    intake = AttachmentIntake(text)
    intake.notices += [_notice(block.filename, block.reason) for block in refused]
    if not limits.enabled and files:
        intake.notices += [_notice(f.filename, "attachments are turned off here") for f in files]
        return intake
    if not thread_id and files:  # files belong to a conversation; without one, none is safe
        reason = "files can only be read in a conversation thread"
        intake.notices += [_notice(f.filename, reason) for f in files]
        return intake
    accepted: Sequence[IncomingFile] = files[: limits.max_files_per_message]
    intake.notices += [
        _notice(f.filename, f"I read at most {limits.max_files_per_message} files per message")
        for f in files[limits.max_files_per_message :]
    ]
    for incoming in accepted:
        try:
            ref = await services.attachments.receive(
                context.tenant_id, context.user_id, thread_id, incoming
            )
        except GraphBubbleUp:
            raise
        except (SQLAlchemyError, OSError, ToolError) as error:  # storage down: say so, go on
            logger.warning("attachment %s not stored: %s", incoming.filename, type(error).__name__)
            intake.notices.append(_notice(incoming.filename, _NOT_STORED))
            continue
        except Exception:  # one bad file never fails the turn
            logger.exception("attachment %s could not be processed", incoming.filename)
            intake.notices.append(_notice(incoming.filename, "it could not be processed"))
            continue
        intake.received.append(ref)
        if ref.partial:
            intake.notices.append(
                f"“{ref.filename}” is long: I read its beginning only, so ask me about that "
                "part, or send the section you need."
            )
        if ref.status == "rejected":
            intake.notices.append(_notice(ref.filename, ref.error or "it could not be read"))
    trim_soon(sum(len(f.data) for f in accepted))  # what reading them freed goes back
    return intake


def acknowledge(received: Sequence[AttachmentRef], notices: Sequence[str]) -> str:
    """The reply to a message that is only attachments: what was read, and what is next."""
    read = [r for r in received if r.status != "rejected"]
    lines = [
        f"I've received “{r.filename}”"
        + (
            " (an image: I can see its type and size, not its content)"
            if r.status == "metadata_only"
            else ""
        )
        + "."
        for r in read
    ]
    lines += list(notices)
    if read:
        lines.append("What would you like to know about it?")
    else:
        lines.append("Could you send it in another format, or describe the problem in words?")
    return " ".join(lines)


def refers_to_attachment(
    text: str, *, file_in_focus: bool = False, filenames: Sequence[str] = ()
) -> bool:
    """Whether the customer's words point at a file they sent.

    A pronoun ("what is the subtotal on it?") counts only while a file is in focus:
    it arrived this turn, or the previous answer quoted one. Naming a file of this turn
    (``filenames``) by a word of its name counts too ("my export" for ``export-1.csv``).

    >>> refers_to_attachment("What is the total on my invoice?")
    True
    >>> refers_to_attachment("Is it possible to cancel my subscription?")
    False
    >>> refers_to_attachment("And the subtotal on it?", file_in_focus=True)
    True
    >>> refers_to_attachment("What is in my export?", filenames=["export-1.csv"])
    True
    """
    if _FILE_WORDS.search(text) or (file_in_focus and _PRONOUN.search(text)):
        return True
    words = set(tokenize(text))
    return any(words & _name_words(name) for name in filenames)


def _name_words(filename: str) -> set[str]:
    """The words of a file's name, without its extension ("export-1.csv" → {"export"})."""
    stem = filename.rsplit(".", 1)[0].replace("_", " ").replace("-", " ")
    return {w for w in tokenize(stem) if len(w) >= 3 and not w.isdigit()}


def merge_passages(
    kb_passages: Sequence[Passage],
    attachment_passages: Sequence[Passage],
    *,
    threshold: float,
    refers: bool,
) -> tuple[list[Passage], int]:
    """The turn's passages, and how many of them come from the customer's files.

    When the customer points at a file, its best passage leads (if it shares anything
    with the question at all). Otherwise a file's passage joins only when it is above
    ``threshold`` and matches the question better than every article: a file in the
    thread must not take over questions about something else.
    """
    best_kb = max((p["dense"] for p in kb_passages), default=-1.0)
    relevant = [
        p
        for i, p in enumerate(attachment_passages)
        if (refers and i == 0 and p["dense"] >= _MIN_REFERRED_SCORE)
        or (p["dense"] >= threshold and p["dense"] > best_kb)
    ][:_MAX_ATTACHMENT_PASSAGES]
    return [*relevant, *kb_passages], len(relevant)
