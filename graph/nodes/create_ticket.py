"""The ``create_ticket`` node: the escalating turn's ticket, written exactly once.

It is a node of its own, before ``handoff``, because LangGraph re-runs a resumed
node from its first line: the ticket is written in a node that has already
completed, and its write is keyed on the thread and the escalating message anyway.
In LLM mode the ticket summary is written by the model (the structured summary
follows it, and stands alone when the model is unavailable).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.config import get_config
from langgraph.constants import TAG_NOSTREAM
from langgraph.runtime import Runtime

from graph.message_checks import message_text
from graph.nodes.deps import Node, NodeDeps
from graph.prompts import TICKET_SUMMARY
from state import Context, SupportState
from tools.escalation.policy import priority
from tools.escalation.tickets import idempotency_key
from tools.identity import identity_of, thread_of
from tools.services import Services

__all__ = [
    "create_ticket",
    "deliver_in_background",
    "deliveries_settled",
    "make_create_ticket",
    "ticket_summary",
]

logger = logging.getLogger(__name__)
_background: set[asyncio.Task[Any]] = set()

ALREADY_WITH_THE_TEAM = (
    "Our support team already has your request (ticket #{ticket_id}) and will reply to you "
    "there; I've kept this message in our conversation. Is there anything I can look up "
    "for you meanwhile?"
)
HANDED_OVER = (
    "I've passed your conversation to our support team (ticket #{ticket_id}). "
    "A person will reply here; you don't need to repeat anything."
)


def ticket_summary(
    state: SupportState, reasons: list[str], *, staff_only: bool = True
) -> tuple[str, str]:
    """(summary a human can act on, transcript excerpt), without a model.

    ``staff_only=False`` leaves out the staff-only articles (for what a customer's
    client can read, such as the handover request).
    """
    human = [message_text(m.content)[0] for m in state.messages if isinstance(m, HumanMessage)]
    answers = [m.text for m in state.messages if isinstance(m, AIMessage)]
    tried = [a.splitlines()[0][:160] for a in answers[-2:] if a.strip()] or ["nothing yet"]
    articles = [f"{p['title']} ({p['doc_id']})" for p in state.passages[:3]] or ["none"]
    remembered = [m["content"] for m in state.memories] or ["nothing"]
    lines = [
        f'Customer request (their words): "{human[-1] if human else ""}"',
        "What the assistant tried: " + " | ".join(tried),
        "Articles consulted: " + "; ".join(articles),
        "Known about the customer: " + "; ".join(remembered),
        "Escalated because: " + ", ".join(reasons),
    ]
    if staff_only and state.internal_articles:
        lines.append(
            "Internal articles for staff: "
            + "; ".join(f"{a['title']} ({a['doc_id']})" for a in state.internal_articles)
        )
    if state.attachments:
        files = [
            f"{a['filename']} ({a['doc_id']}, "
            + (a["status"] if a["status"] != "rejected" else f"refused: {a.get('error')}")
            + ")"
            for a in state.attachments
        ]
        lines.append("Files the customer sent: " + "; ".join(files))
    summary = "\n".join(lines)
    transcript = "\n".join(
        f"{'customer' if isinstance(m, HumanMessage) else (m.name or 'assistant')}: "
        f"{message_text(m.content)[0][:500]}"
        for m in state.messages[-10:]
    )
    return summary, transcript


def deliver_in_background(services: Services) -> None:
    """Try to deliver pending tickets without holding up the turn (one attempt at a time)."""
    if not services.settings.escalation_webhook_url or _background:
        return

    async def deliver() -> None:
        try:
            await services.tickets.deliver_pending()
        except Exception as exc:  # delivery is retried later; the turn is unaffected
            logger.warning("ticket delivery postponed: %s", type(exc).__name__)

    task = asyncio.get_running_loop().create_task(deliver())
    _background.add(task)
    task.add_done_callback(_background.discard)


async def deliveries_settled() -> None:
    """Wait for the background delivery attempts in flight (shutdown and tests)."""
    await asyncio.gather(*_background, return_exceptions=True)


async def _model_summary(services: Services, model: Any, transcript: str) -> str | None:
    """A short LLM summary for the human, or None (LLM-free mode, or the model failed)."""
    if model is None:
        return None
    prompt = TICKET_SUMMARY.format(transcript=transcript)
    # Staff-only text: never streamed to the customer's client (``nostream``).
    outcome = await services.resilience.run(
        "model", lambda: model.ainvoke(prompt, config={"tags": [TAG_NOSTREAM]})
    )
    text = outcome.data.text.strip() if outcome.ok and outcome.data is not None else ""
    return text or None


async def create_ticket(
    services: Services,
    state: SupportState,
    context: Context,
    thread_id: str,
    model: Any = None,
) -> dict[str, Any]:
    """Create the ticket for this escalating turn (or find the one a retry already made)."""
    last = state.messages[-1]
    reasons = state.escalation_reasons or ["human_requested"]
    key = idempotency_key(thread_id, str(last.id))
    summary, transcript = ticket_summary(state, reasons)
    if await services.tickets.exists(key) is False:  # not a retry of this node
        limit = services.settings.escalation_policy(context.tenant_id).tickets_per_hour
        recent = await services.tickets.recent(context.tenant_id, context.user_id)
        if len(recent) >= limit:
            return _over_the_limit(recent[0], reasons)
        written = await _model_summary(services, model, transcript)
        if written:
            summary = f"{written}\n\n{summary}"
    ticket, created = await services.tickets.create(
        tenant_id=context.tenant_id,
        user_id=context.user_id,
        thread_id=thread_id,
        key=key,
        reasons=reasons,
        priority=priority(reasons),
        summary=summary,
        transcript=transcript,
    )
    if created:
        deliver_in_background(services)
    return {
        "escalation": {
            "ticket_id": ticket["ticket_id"],
            "reasons": reasons,
            "priority": ticket.get("priority"),
            "status": "open",
        },
        "messages": [AIMessage(HANDED_OVER.format(ticket_id=ticket["ticket_id"]))],
        "outcome": "escalated",
        "route_reasons": reasons,
        "citations": [],
    }


def _over_the_limit(latest_ticket: int, reasons: list[str]) -> dict[str, Any]:
    """No new ticket: the customer opened the hour's allowance already (the thread goes on)."""
    logger.warning("ticket limit reached; no new ticket (reasons %s)", ",".join(reasons))
    return {
        "messages": [AIMessage(ALREADY_WITH_THE_TEAM.format(ticket_id=latest_ticket))],
        "outcome": "abstained",
        "route_reasons": [*reasons, "ticket_limit"],
        "escalation_reasons": [],
        "citations": [],
    }


def make_create_ticket(deps: NodeDeps) -> Node:
    """The create_ticket node over ``deps``."""

    async def create_ticket_node(state: SupportState, runtime: Runtime[Context]) -> dict[str, Any]:
        """Create this escalation's ticket exactly once."""
        services = await deps.services()
        context = identity_of(runtime)
        return await create_ticket(
            services, state, context, thread_of(get_config()), model=deps.model
        )

    return create_ticket_node
