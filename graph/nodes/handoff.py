"""The ``handoff`` node: the thread waits for a human (``interrupt``) and takes their reply.

Resuming with ``Command(resume={"reply": "...", "resolve": true|false})`` adds the
human's reply to the conversation; until a human resolves it, the thread stays
with them (customer messages come straight here).
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.runtime import Runtime
from langgraph.types import interrupt

from graph.message_checks import message_text
from graph.nodes.deps import Node, NodeDeps
from state import Context, SupportState
from tools.identity import identity_of
from tools.services import Services

__all__ = ["handoff", "make_handoff"]


async def handoff(services: Services, state: SupportState, context: Context) -> dict[str, Any]:
    """Wait for a human (``interrupt``); add their reply; resolve or keep the thread."""
    escalation = dict(state.escalation or {})
    human = [m for m in state.messages if isinstance(m, HumanMessage)]
    answer = interrupt(
        {
            "ticket_id": escalation.get("ticket_id"),
            "reasons": escalation.get("reasons", []),
            "customer_message": message_text(human[-1].content)[0] if human else "",
        }
    )
    reply = str((answer or {}).get("reply", "")).strip() if isinstance(answer, dict) else ""
    resolve = bool(answer.get("resolve")) if isinstance(answer, dict) else False
    ticket_id = escalation.get("ticket_id")
    if ticket_id is not None:
        await services.tickets.set_status(
            context.tenant_id, int(ticket_id), "resolved" if resolve else "assigned"
        )
    update: dict[str, Any] = {
        "outcome": "escalated",
        "escalation": None if resolve else {**escalation, "status": "assigned"},
    }
    if reply:
        update["messages"] = [AIMessage(reply, name="human_agent")]
    return update


def make_handoff(deps: NodeDeps) -> Node:
    """The handoff node over ``deps``."""

    async def handoff_node(state: SupportState, runtime: Runtime[Context]) -> dict[str, Any]:
        """Pause for the human; add their reply when resumed."""
        services = await deps.services()
        return await handoff(services, state, identity_of(runtime))

    return handoff_node
