"""The ``handoff`` node: the thread waits for a human (``interrupt``) and takes their reply.

Resuming with ``Command(resume={"reply": "...", "resolve": true|false})`` adds the
human's reply to the conversation; until a human resolves it, the thread stays
with them (customer messages come straight here).
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.config import get_config
from langgraph.runtime import Runtime
from langgraph.types import interrupt

from graph.message_checks import message_text
from graph.nodes.deps import Node, NodeDeps
from state import Context, SupportState
from tools.identity import Caller, Owner, caller_of, identity_of, thread_of
from tools.resilience.errors import IdentityError
from tools.services import Services

__all__ = ["handoff", "make_handoff"]


async def handoff(
    services: Services,
    state: SupportState,
    context: Context,
    caller: Caller | None = None,
    owner: Owner | None = None,
) -> dict[str, Any]:
    """Wait for a human (``interrupt``); add their reply; resolve or keep the thread.

    Under the server API only an agent or admin of the thread's tenant may resume it
    (some servers do not check who resumes a run); the ticket is the thread's tenant's.
    """
    escalation = dict(state.escalation or {})
    human = [m for m in state.messages if isinstance(m, HumanMessage)]
    answer = interrupt(
        {
            "ticket_id": escalation.get("ticket_id"),
            "reasons": escalation.get("reasons", []),
            "customer_message": message_text(human[-1].content)[0] if human else "",
        }
    )
    tenant = owner[0] if owner else context.tenant_id
    if caller is not None and (not caller.is_staff or caller.tenant_id != tenant):
        raise IdentityError("only an agent or admin of this thread's tenant can reply to it")
    reply = str((answer or {}).get("reply", "")).strip() if isinstance(answer, dict) else ""
    resolve = bool(answer.get("resolve")) if isinstance(answer, dict) else False
    ticket_id = escalation.get("ticket_id")
    if ticket_id is not None:
        await services.tickets.set_status(
            tenant, int(ticket_id), "resolved" if resolve else "assigned"
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
        owner = await services.owners.owner(thread_of(get_config()))
        return await handoff(services, state, identity_of(runtime), caller_of(runtime), owner)

    return handoff_node
