"""The ``route`` node: record where the turn goes (answer, abstain or escalate) and why.

It joins the two branches after ``guard``: the search (``retrieve``) and the customer's
memories (``remember``), so it is also where the memories order the passages
(``graph.memory_focus``). The decision itself is code (``graph.routing.decide_route``
and the tenant's escalation policy), never the model's alone.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from langgraph.runtime import Runtime

from graph.memory_focus import shaped_by_memories
from graph.message_checks import message_text
from graph.nodes.deps import Node, NodeDeps
from graph.routing import decide_route
from state import Context, SupportState
from tools.escalation import escalation_reasons
from tools.escalation.intent import intent_heads
from tools.identity import identity_of
from tools.services import Services

__all__ = ["intent_text", "make_route"]

logger = logging.getLogger(__name__)
_EMBED_TIMEOUT_S = 2.0


def intent_text(state: SupportState) -> str:
    """The customer's words as the intent heads read them (embedded like a query)."""
    if not state.messages:
        return ""
    return message_text(state.messages[-1].content)[0][:2000]


async def _intents(services: Services, text: str) -> list[str]:
    """What the semantic heads detect in the customer's words (rules alone if unavailable).

    The vector is the query embedding's cache entry: ``retrieve`` embeds the message
    with its query when the two differ (a follow-up), in the same model call.
    """
    if not text.strip():
        return []
    try:
        vector = await asyncio.wait_for(services.kb.queries.embed(text), _EMBED_TIMEOUT_S)
    except Exception as exc:  # the rules still decide; the turn is never held up by this
        logger.warning("escalation intent skipped: %s", type(exc).__name__)
        return []
    return intent_heads().detect(vector)


def make_route(deps: NodeDeps) -> Node:
    """The route node over ``deps``."""

    async def route(state: SupportState, runtime: Runtime[Context]) -> dict[str, Any]:
        """Order the passages by the memories; record the route and why."""
        shaped = shaped_by_memories(state)
        decision, reasons = decide_route(
            rejection=state.rejection,
            passages=len(state.passages),
            top_score=state.top_score,
            threshold=state.threshold,
            kb_error=state.kb_error,
            attachment_passages=state.attachment_passages,
            answerable=state.answerable if state.retrieval_signals else None,
        )
        if state.rejection or not state.messages:
            return {**shaped, "route": decision, "route_reasons": reasons}
        services = await deps.services()
        text = message_text(state.messages[-1].content)[0]
        escalate = escalation_reasons(
            text,
            abstain_streak=state.abstain_streak,
            will_abstain=decision == "abstain",
            policy=services.settings.escalation_policy(identity_of(runtime).tenant_id),
            intents=await _intents(services, intent_text(state)),
        )
        if escalate:
            return {
                **shaped,
                "route": "escalate",
                "route_reasons": escalate,
                "escalation_reasons": escalate,
            }
        return {**shaped, "route": decision, "route_reasons": reasons}

    return route
