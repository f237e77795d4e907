"""The LLM answer: a grounded prompt, and citations checked against what was retrieved.

The model is asked to cite passages by doc id. Markers that name a retrieved
passage (or one a tool showed it this turn) become numbered citations; markers
that name anything else are dropped. An answer that cites nothing it was given
is not accepted: the caller falls back to the LLM-free answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from langchain_core.messages import AnyMessage, SystemMessage

from graph.prompts import ANSWER_SYSTEM, ATTACHMENT, PASSAGE
from graph.sources import render_sources
from state import Citation, Passage, citation_of

__all__ = ["GroundedAnswer", "UngroundedAnswerError", "answer_prompt", "cite", "grounded"]

_MARKER = re.compile(r"\[([^\[\]\n]{1,300})\]")
_DROPPED = "\x00"
_DANGLING = re.compile(
    r"(?:[,;]|\s-|\s—)\s*(?:[^\s,;.!?()\[\]\x00]+\s+){0,3}\x00"  # ", see also X"
    r"|\s*\(\s*(?:[^\s,;.!?()\[\]\x00]+\s+){0,3}\x00\s*\)"  # " (see X)"
)


class UngroundedAnswerError(ValueError):
    """The model's answer cited none of the retrieved passages."""


@dataclass(frozen=True)
class GroundedAnswer:
    """Answer text with numbered citation markers, and the cited passages."""

    text: str
    citations: list[Citation]


def cite(text: str, passages: Sequence[Passage]) -> GroundedAnswer:
    """Turn ``[doc_id]`` markers into ``[n]`` for retrieved passages; drop any others.

    >>> p = [{"doc_id": "a.md", "title": "A", "source": "a.md", "text": "", "score": 1.0,
    ...       "dense": 0.9}]
    >>> cite("Do X [a.md]. Do Y [made-up.md].", p).text.splitlines()[0]
    'Do X [1]. Do Y.'
    >>> cite("Do X [a.md], see also [made-up.md].", p).text.splitlines()[0]
    'Do X [1].'
    >>> cite("Do X [a.md] (see [made-up.md]).", p).text.splitlines()[0]
    'Do X [1].'
    """
    by_id = {p["doc_id"]: p for p in passages}
    numbers: dict[str, int] = {}

    def replace(match: re.Match[str]) -> str:
        ids = [part.strip() for part in re.split(r"[,;]", match.group(1))]
        kept = [i for i in ids if i in by_id]
        if not kept:
            # Plain bracketed prose stays; anything shaped like an id we did not give is dropped.
            return match.group(0) if " " in match.group(1).strip() else _DROPPED
        marks = []
        for doc_id in kept:
            numbers.setdefault(doc_id, len(numbers) + 1)
            marks.append(f"[{numbers[doc_id]}]")
        return "".join(marks)

    body = _MARKER.sub(replace, text)
    # A clause that only pointed at a dropped marker ("…, see also [x]", "(see [x])") goes
    # with it, so no "see also." is left hanging.
    body = _DANGLING.sub("", body).replace(_DROPPED, "")
    body = re.sub(r"[ \t]+([.,;:!?])", r"\1", body)
    body = re.sub(r"[ \t]{2,}", " ", body).strip()
    citations = [citation_of(by_id[doc_id]) for doc_id in numbers]
    if citations:
        body = f"{body}\n\n{render_sources(citations)}"
    return GroundedAnswer(body, citations)


def _is_attachment(passage: Passage) -> bool:
    return passage["doc_id"].startswith("attachment:")


def _attachment_block(
    template: str, doc_id: str, filename: str, text: str, **attributes: str
) -> str:
    """A customer's file as a tagged data block.

    Its text is escaped whole, so no tag inside it (``</customer_attachments>``,
    ``</ATTACHMENT >``...) can end the block.
    """
    return template.format(
        doc_id=escape(doc_id, quote=True),
        filename=escape(filename, quote=True),
        text=escape(text, quote=False),
        **{name: escape(value, quote=True) for name, value in attributes.items()},
    )


def format_attachments(
    attachments: Sequence[dict[str, object]], passages: Sequence[Passage]
) -> str:
    """The thread's files as tagged data: the matching passage of each, else its name only."""
    by_id = {p["doc_id"]: p for p in passages if _is_attachment(p)}
    blocks = []
    for item in attachments:
        doc_id = str(item.get("doc_id", ""))
        passage = by_id.get(doc_id)
        status = str(item.get("status", ""))
        if passage is not None:
            text = passage["text"]
        elif status == "rejected":
            text = f"(could not be read: {item.get('error') or 'unknown reason'})"
        else:
            text = "(not shown: call read_attachment to read it)"
        blocks.append(
            _attachment_block(
                ATTACHMENT, doc_id, str(item.get("filename", "")), text, status=status
            )
        )
    return "\n".join(blocks) or "(none)"


def format_passages(passages: Sequence[Passage]) -> str:
    """Passages as tagged data blocks for the prompt."""
    return "\n".join(
        PASSAGE.format(
            doc_id=escape(p["doc_id"], quote=True),
            title=escape(p["title"], quote=True),
            text=p["text"].replace("</passage>", "&lt;/passage&gt;"),
        )
        for p in passages
    )


def answer_prompt(
    conversation: Sequence[AnyMessage],
    passages: Sequence[Passage],
    *,
    company: str,
    memories: Sequence[str] = (),
    max_words: int = 180,
    attachments: Sequence[dict[str, object]] = (),
) -> list[AnyMessage]:
    """The grounded system prompt, then the conversation (this turn's tool calls included)."""
    system = ANSWER_SYSTEM.format(
        company=company,
        max_words=max_words,
        passages=format_passages([p for p in passages if not _is_attachment(p)]),
        attachments=format_attachments(attachments, passages),
        memories="\n".join(f"- {escape(m)}" for m in memories) or "(none)",
    )
    return [SystemMessage(system), *conversation]


def grounded(text: str, citable: Sequence[Passage]) -> GroundedAnswer:
    """The model's answer with checked citations; ``UngroundedAnswerError`` if none remain."""
    answer = cite(text, citable)
    if not answer.citations:
        raise UngroundedAnswerError("the model's answer cited none of the retrieved passages")
    return answer
