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

from sqlalchemy.exc import SQLAlchemyError

from state import Context, Passage
from tools.attachment_input import IncomingFile, split_content
from tools.attachments import AttachmentRef
from tools.errors import ToolError
from tools.services import Services

__all__ = [
    "AttachmentIntake",
    "acknowledge",
    "merge_passages",
    "receive_attachments",
    "refers_to_attachment",
]

_REFERS = re.compile(
    r"\b(attach\w*|file|document|doc|pdf|invoice|receipt|bill|statement|spreadsheet|sheet|"
    r"screenshot|log|upload\w*|sent|above|this|it|its)\b",
    re.IGNORECASE,
)
_MAX_ATTACHMENT_PASSAGES = 2
logger = logging.getLogger(__name__)


@dataclass
class AttachmentIntake:
    """The message's text and what became of its files."""

    text: str
    received: list[AttachmentRef] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    """One sentence per file that could not be read, for the customer."""

    @property
    def had_files(self) -> bool:
        """Whether the message carried any non-text part."""
        return bool(self.received or self.notices)


def _notice(name: str, reason: str) -> str:
    return f"I couldn't read “{name}”: {reason}."


async def receive_attachments(
    services: Services, content: Any, context: Context, thread_id: str
) -> AttachmentIntake:
    """Store the message's files for this thread; refused ones get a notice."""
    text, files, refused = split_content(content)
    intake = AttachmentIntake(text)
    limits = services.settings.attachments
    intake.notices += [_notice(block.filename, block.reason) for block in refused]
    if not limits.enabled and files:
        intake.notices += [_notice(f.filename, "attachments are turned off here") for f in files]
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
        except (SQLAlchemyError, OSError, ToolError) as error:  # storage down: say so, go on
            logger.warning("attachment %s not stored: %s", incoming.filename, type(error).__name__)
            intake.notices.append(
                _notice(
                    incoming.filename, "I can't store files right now; please send it again later"
                )
            )
            continue
        intake.received.append(ref)
        if ref.status == "rejected":
            intake.notices.append(_notice(ref.filename, ref.error or "it could not be read"))
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


def refers_to_attachment(text: str) -> bool:
    """Whether the customer's words point at a file they sent.

    >>> refers_to_attachment("What is the total on my invoice?")
    True
    >>> refers_to_attachment("How do I reset my password?")
    False
    """
    return bool(_REFERS.search(text))


def merge_passages(
    kb_passages: Sequence[Passage],
    attachment_passages: Sequence[Passage],
    *,
    threshold: float,
    refers: bool,
) -> tuple[list[Passage], int]:
    """Knowledge-base and attachment passages for this turn, and how many attachments count.

    An attachment passage counts when it is similar enough to the question
    (``threshold``), or, for the best one, when the customer refers to a file.
    Counted attachment passages lead when the customer refers to a file or
    they match better than the best article.
    """
    relevant = [
        p
        for i, p in enumerate(attachment_passages)
        if p["dense"] >= threshold or (refers and i == 0)
    ][:_MAX_ATTACHMENT_PASSAGES]
    if not relevant:
        return list(kb_passages), 0
    best_kb = max((p["dense"] for p in kb_passages), default=-1.0)
    if refers or relevant[0]["dense"] >= best_kb:
        return [*relevant, *kb_passages], len(relevant)
    return [*kb_passages, *relevant], len(relevant)
