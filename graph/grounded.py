"""The LLM answer: a grounded prompt, and citations checked against what was retrieved.

The model is asked to cite passages by doc id. Markers that name a retrieved
passage become numbered citations; markers that name anything else are
dropped. An answer that cites nothing it was given is not accepted: the caller
falls back to the LLM-free answer.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from html import escape

from langchain_core.messages import AnyMessage, BaseMessage, SystemMessage
from pydantic import BaseModel, Field

from graph.extractive import render_sources
from graph.prompts import ANSWER_SYSTEM, PASSAGE
from state import Citation, Passage

__all__ = [
    "EscalateToHuman",
    "EscalationProposed",
    "GroundedAnswer",
    "UngroundedAnswerError",
    "cite",
    "llm_answer",
]

_MARKER = re.compile(r"\[([^\[\]\n]{1,300})\]")


class UngroundedAnswerError(ValueError):
    """The model's answer cited none of the retrieved passages."""


class EscalationProposed(Exception):
    """The model asked to hand the conversation to a human (code decides whether to)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class EscalateToHuman(BaseModel):
    """Hand this conversation to a human support agent.

    Use it when the customer insists on a person, when you cannot help with what they
    need, or when it involves fraud, security, legal or safety matters. Do not use it
    for questions the passages answer.
    """

    reason: str = Field(description="One short sentence: why a human is needed.")


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
    """
    by_id = {p["doc_id"]: p for p in passages}
    numbers: dict[str, int] = {}

    def replace(match: re.Match[str]) -> str:
        ids = [part.strip() for part in re.split(r"[,;]", match.group(1))]
        kept = [i for i in ids if i in by_id]
        if not kept:
            # Plain bracketed prose stays; anything shaped like an id we did not give is dropped.
            return match.group(0) if " " in match.group(1).strip() else ""
        marks = []
        for doc_id in kept:
            numbers.setdefault(doc_id, len(numbers) + 1)
            marks.append(f"[{numbers[doc_id]}]")
        return "".join(marks)

    body = _MARKER.sub(replace, text)
    body = re.sub(r"[ \t]+([.,;:!?])", r"\1", body)
    body = re.sub(r"[ \t]{2,}", " ", body).strip()
    citations = [
        Citation(
            doc_id=doc_id,
            title=by_id[doc_id]["title"],
            source=by_id[doc_id]["source"],
            score=by_id[doc_id]["score"],
        )
        for doc_id in numbers
    ]
    if citations:
        body = f"{body}\n\n{render_sources(citations)}"
    return GroundedAnswer(body, citations)


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


async def llm_answer(
    invoke: Callable[[list[AnyMessage]], Awaitable[BaseMessage]],
    conversation: Sequence[AnyMessage],
    passages: Sequence[Passage],
    *,
    company: str,
    memories: Sequence[str] = (),
    max_words: int = 180,
) -> GroundedAnswer:
    """Ask the model (through ``invoke``) for a grounded answer.

    Raises ``UngroundedAnswerError`` if the answer cites nothing that was retrieved.
    """
    system = ANSWER_SYSTEM.format(
        company=company,
        max_words=max_words,
        passages=format_passages(passages),
        memories="\n".join(f"- {escape(m)}" for m in memories) or "(none)",
    )
    response = await invoke([SystemMessage(system), *conversation[-12:]])
    for call in getattr(response, "tool_calls", None) or []:
        if call.get("name") == EscalateToHuman.__name__:
            raise EscalationProposed(str((call.get("args") or {}).get("reason", "")))
    answer = cite(response.text, passages)
    if not answer.citations:
        raise UngroundedAnswerError("the model's answer cited none of the retrieved passages")
    return answer
