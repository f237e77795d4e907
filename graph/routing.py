"""Every routing decision of the graph: pure functions, unit-tested without a graph.

``decide_route`` chooses answer or abstain from the turn's evidence; the
``after_*`` functions are the graph's conditional edges. The model never decides
alone whether to answer: code does, from the guard's verdict, the retrieval
scores and the escalation policy, and records why.
"""

from __future__ import annotations

from typing import Literal

from langchain_core.messages import AIMessage

from state import SupportState

__all__ = [
    "GUARD_TARGETS",
    "Decision",
    "after_answer",
    "after_create_ticket",
    "after_guard",
    "after_handoff",
    "after_route",
    "after_tools",
    "decide_route",
]

Decision = Literal["answer", "abstain"]
"""What the evidence alone decides (escalation comes from the policy on top)."""


def decide_route(
    *,
    rejection: str | None,
    passages: int,
    top_score: float,
    threshold: float,
    kb_error: str | None = None,
    attachment_passages: int = 0,
    answerable: bool | None = None,
) -> tuple[Decision, list[str]]:
    """Answer only when the knowledge base (or the customer's own file) holds the answer.

    >>> decide_route(rejection=None, passages=3, top_score=0.62, threshold=0.4)
    ('answer', ['grounded'])
    >>> decide_route(rejection=None, passages=3, top_score=0.21, threshold=0.4)
    ('abstain', ['low_confidence'])
    >>> decide_route(rejection=None, passages=3, top_score=0.62, threshold=0.4, answerable=False)
    ('abstain', ['low_confidence'])
    >>> decide_route(rejection=None, passages=0, top_score=0, threshold=0.4, kb_error="timeout")
    ('abstain', ['kb_unavailable'])
    >>> decide_route(
    ...     rejection=None, passages=1, top_score=0.1, threshold=0.4, attachment_passages=1
    ... )
    ('answer', ['grounded_attachment'])
    """
    if rejection:
        return "abstain", [f"input_{rejection}"]
    if attachment_passages:
        return "answer", ["grounded_attachment"]
    if kb_error and passages == 0:
        return "abstain", ["kb_unavailable"]
    if kb_error:
        # BM25-only fallback: top_score is the share of the query found in the best chunk
        if top_score < threshold:
            return "abstain", ["kb_degraded", "low_confidence"]
        return "answer", ["kb_degraded", "grounded_lexical"]
    if passages == 0:
        return "abstain", ["no_passages"]
    if not answerable if answerable is not None else top_score < threshold:
        return "abstain", ["low_confidence"]
    return "answer", ["grounded"]


GUARD_TARGETS = ("retrieve", "remember", "route", "acknowledge")
"""Where ``after_guard`` may send a turn (the graph's drawing needs them listed)."""


def after_guard(
    state: SupportState,
) -> list[Literal["retrieve", "remember"]] | Literal["route", "acknowledge"]:
    """Search and memory side by side; a refused message skips both; a human's thread, to them.

    >>> after_guard(SupportState())
    ['retrieve', 'remember']
    """
    if state.rejection:
        return "route"
    if state.escalation:  # the thread is with a human until they resolve it
        return "acknowledge"
    return ["retrieve", "remember"]


def after_create_ticket(state: SupportState) -> Literal["handoff", "__end__"]:
    """To the human when a ticket is open; a customer over the ticket limit is not handed over."""
    return "handoff" if state.escalation else "__end__"


def after_handoff(state: SupportState) -> Literal["handoff", "__end__"]:
    """The thread stays with the human (waiting again) until they resolve the ticket."""
    return "handoff" if state.escalation else "__end__"


def after_route(state: SupportState) -> Literal["answer", "abstain", "create_ticket"]:
    """Follow the recorded route."""
    if state.route == "escalate":
        return "create_ticket"
    return "answer" if state.route == "answer" else "abstain"


def after_answer(state: SupportState) -> Literal["tools", "__end__"]:
    """To the tools when the model's last reply called some; else the turn is over."""
    last = state.messages[-1] if state.messages else None
    return "tools" if isinstance(last, AIMessage) and last.tool_calls else "__end__"


def after_tools(state: SupportState) -> Literal["answer", "create_ticket"]:
    """Back to the model with the results, unless it handed over and the policy agreed."""
    return "create_ticket" if state.route == "escalate" else "answer"
