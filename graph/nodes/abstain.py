"""The ``abstain`` node: say plainly there is no grounded answer, and what would help."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage
from langgraph.runtime import Runtime

from graph.clarify import clarifying_question
from graph.message_checks import message_text
from graph.nodes.deps import Node, NodeDeps, with_notices
from graph.prompts import (
    ABSTAIN_KB_DOWN,
    ABSTAIN_LOW_CONFIDENCE,
    ABSTAIN_NO_KB,
    ABSTAIN_SUGGESTIONS,
)
from graph.sources import clean_text
from state import Context, SupportState
from tools.identity import identity_of

__all__ = ["low_confidence_reply", "make_abstain"]


def low_confidence_reply(state: SupportState) -> str:
    """No grounded answer: say so, and list the articles that came nearest (customer-safe)."""
    near = [p for p in state.passages[:3] if p["dense"] >= state.threshold - 0.08]
    if not near:
        return ABSTAIN_LOW_CONFIDENCE
    titles = "\n".join(f"- {clean_text(p['title'])}" for p in near)
    return f"{ABSTAIN_LOW_CONFIDENCE}\n\n{ABSTAIN_SUGGESTIONS}\n{titles}"


def make_abstain(deps: NodeDeps) -> Node:
    """The abstain node over ``deps``."""

    async def abstain(state: SupportState, runtime: Runtime[Context]) -> dict[str, Any]:
        """Say plainly that there is no grounded answer, and ask for what would help."""
        reasons = state.route_reasons
        if state.rejection:
            text = state.rejection_reply or "I couldn't read that message. Could you rephrase it?"
        elif "kb_unavailable" in state.route_reasons:
            text = ABSTAIN_KB_DOWN
        elif "no_passages" in state.route_reasons:
            services = await deps.services()
            version, _ = await services.kb.collection_state(identity_of(runtime).tenant_id)
            text = ABSTAIN_NO_KB if version == 0 else ABSTAIN_LOW_CONFIDENCE
        else:
            text = low_confidence_reply(state)
            message = message_text(state.messages[-1].content)[0] if state.messages else ""
            earlier = " ".join(message_text(m.content)[0] for m in state.messages[:-1])
            question = clarifying_question(message, earlier)
            if question:  # "this library": one the conversation has not named
                text, reasons = question, [*reasons, "clarify"]
        streak = state.abstain_streak if state.rejection else state.abstain_streak + 1
        return {
            "messages": [AIMessage(with_notices(state, text))],
            "outcome": "abstained",
            "citations": [],
            "abstain_streak": streak,
            "route_reasons": reasons,
        }

    return abstain
