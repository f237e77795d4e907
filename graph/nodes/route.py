"""The ``route`` node: record where the turn goes (answer, abstain or escalate) and why.

The decision itself is code (``graph.routing.decide_route`` and the tenant's
escalation policy), never the model's alone.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from graph.message_checks import message_text
from graph.nodes.deps import Node, NodeDeps
from graph.routing import decide_route
from state import Context, SupportState
from tools.escalation import escalation_reasons
from tools.identity import identity_of

__all__ = ["make_route"]


def make_route(deps: NodeDeps) -> Node:
    """The route node over ``deps``."""

    async def route(state: SupportState, runtime: Runtime[Context]) -> dict[str, Any]:
        """Record the routing decision and its reasons: answer, abstain or escalate."""
        decision, reasons = decide_route(
            rejection=state.rejection,
            passages=len(state.passages),
            top_score=state.top_score,
            threshold=state.threshold,
            kb_error=state.kb_error,
            attachment_passages=state.attachment_passages,
        )
        if state.rejection or not state.messages:
            return {"route": decision, "route_reasons": reasons}
        services = await deps.services()
        escalate = escalation_reasons(
            message_text(state.messages[-1].content)[0],
            abstain_streak=state.abstain_streak,
            will_abstain=decision == "abstain",
            policy=services.settings.escalation_policy(identity_of(runtime).tenant_id),
        )
        if escalate:
            return {"route": "escalate", "route_reasons": escalate, "escalation_reasons": escalate}
        return {"route": decision, "route_reasons": reasons}

    return route
