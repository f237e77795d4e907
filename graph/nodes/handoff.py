"""The ``acknowledge`` and ``handoff`` nodes: the thread is with a human until resolved.

``handoff`` interrupts with the handover request (``graph.handover``: the shape
agent-chat-ui and agent-inbox render with a reply control), takes the human's reply
from the resume payload, and loops back to itself until the human resolves the
ticket, so a human may reply several times in a row and the thread stays
``interrupted`` (resumable on every server) the whole time. A customer message
while the thread is with a human is acknowledged by ``acknowledge`` (a node of its
own: a resumed node re-runs from its first line, so nothing before ``interrupt``
may write) and then waits with the thread.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.config import get_config
from langgraph.runtime import Runtime
from langgraph.types import interrupt

from graph.handover import HumanReply, ResumeError, handover_request, parse_resume
from graph.message_checks import message_text
from graph.nodes.create_ticket import ticket_summary
from graph.nodes.deps import Node, NodeDeps
from graph.prompts import STILL_WITH_A_HUMAN
from state import Context, SupportState
from tools.identity import Caller, Owner, caller_of, identity_of, thread_of
from tools.resilience.errors import IdentityError
from tools.services import Services

__all__ = ["handoff", "human_message", "make_acknowledge", "make_handoff"]


def human_message(reply: HumanReply, caller: Caller | None = None) -> AIMessage:
    """The human's reply as the customer sees it: marked as written by a person."""
    who = f"{reply.name} (support team)" if reply.name else "Support team"
    author = {"name": reply.name, "role": caller.role if caller else "agent"}
    return AIMessage(
        f"{who}: {reply.reply}", name="human_agent", additional_kwargs={"author": author}
    )


def _request(state: SupportState, tenant: str) -> dict[str, Any]:
    escalation = state.escalation or {}
    reasons = list(escalation.get("reasons") or [])
    human = [m for m in state.messages if isinstance(m, HumanMessage)]
    ticket = {
        "ticket_id": escalation.get("ticket_id"),
        "reasons": reasons,
        "priority": escalation.get("priority"),
        "tenant_id": tenant,
        "customer_message": message_text(human[-1].content)[0] if human else "",
    }
    # the interrupt is readable by the thread's customer: no staff-only articles in it
    summary = ticket_summary(state, reasons or ["human_requested"], staff_only=False)[0]
    return handover_request(ticket, summary)


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
    A payload that says nothing usable interrupts again with the reason in ``error``
    (raising here would leave it recorded as this task's answer, replayed forever).
    """
    tenant = owner[0] if owner else context.tenant_id
    request = _request(state, tenant)
    while True:
        answer = interrupt(request)
        if caller is not None and (not caller.is_staff or caller.tenant_id != tenant):
            raise IdentityError("only an agent or admin of this thread's tenant can reply to it")
        try:
            reply = parse_resume(answer)
            break
        except ResumeError as error:
            request = {**request, "error": str(error)}
    escalation = dict(state.escalation or {})
    ticket_id = escalation.get("ticket_id")
    if ticket_id is not None:
        await services.tickets.set_status(
            tenant, int(ticket_id), "resolved" if reply.resolve else "assigned"
        )
    update: dict[str, Any] = {
        "outcome": "escalated",
        "escalation": None if reply.resolve else {**escalation, "status": "assigned"},
    }
    if reply.reply:
        update["messages"] = [human_message(reply, caller)]
    return update


def make_handoff(deps: NodeDeps) -> Node:
    """The handoff node over ``deps``."""

    async def handoff_node(state: SupportState, runtime: Runtime[Context]) -> dict[str, Any]:
        """Pause for the human; add their reply when resumed."""
        services = await deps.services()
        owner = await services.owners.owner(thread_of(get_config()))
        return await handoff(services, state, identity_of(runtime), caller_of(runtime), owner)

    return handoff_node


def make_acknowledge(deps: NodeDeps) -> Node:
    """The acknowledge node: a customer wrote while a human has the thread."""

    async def acknowledge(state: SupportState, runtime: Runtime[Context]) -> dict[str, Any]:
        """Tell the customer their message waits with the human (no ticket internals)."""
        ticket_id = (state.escalation or {}).get("ticket_id")
        text = STILL_WITH_A_HUMAN.format(ticket=f" #{ticket_id}" if ticket_id else "")
        return {"messages": [AIMessage(text)], "outcome": "escalated"}

    return acknowledge
