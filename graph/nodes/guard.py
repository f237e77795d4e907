"""The ``guard`` node: the first step of every turn, before anything reads the message.

It starts a fresh turn (per-turn fields back to their defaults), claims the thread
for its customer or refuses another customer's message, stores the message's files
(the checkpoint keeps their names, never their bytes) and checks the words
(size, encoding). A refused message is replaced in the conversation by a
placeholder, so what must not be stored never is.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from langchain_core.messages import HumanMessage
from langgraph.config import get_config
from langgraph.runtime import Runtime

from graph.attachment_turn import acknowledge, receive_attachments
from graph.failed_turn import batch_of, removal_of_failed_turn
from graph.intake import MissingStash, discard, restore, stamped, stashed_names
from graph.message_checks import check_message, message_text
from graph.nodes.create_ticket import deliver_in_background
from graph.nodes.deps import Node, NodeDeps
from state import Context, SupportState, per_turn_defaults
from tools.identity import caller_of, identity_of, thread_of
from tools.resilience.errors import ThreadAccessError
from tools.services import Services

__all__ = ["make_guard"]

logger = logging.getLogger(__name__)

_LOST_INPUT = (
    "Part of your message did not reach me (the service restarted while it arrived). "
    "Could you send it again?"
)
_FOREIGN_THREAD = (
    "This conversation belongs to another customer, so I can't continue it for you. "
    "Please start a new conversation."
)


def make_guard(deps: NodeDeps) -> Node:
    """The guard node over ``deps``."""

    async def guard(state: SupportState, runtime: Runtime[Context]) -> dict[str, Any]:
        """Validate the newest customer message; drop what a failed turn left unanswered."""
        update = await _checked(deps, state, runtime)
        last = state.messages[-1] if state.messages else None
        if isinstance(last, HumanMessage) and update.get("rejection") != "foreign_thread":
            batch = batch_of(last)
            # A rewritten message keeps the mark of the run that brought it.
            update["messages"] = [
                stamped(m, batch) if m.id == last.id else m for m in update.get("messages", [])
            ]
            failed = removal_of_failed_turn(state.messages, current=batch)
            if failed:
                logger.warning("dropping %d message(s) of a turn that failed", len(failed))
                update["messages"] = [*failed, *update["messages"]]
            if not update["messages"]:
                del update["messages"]
        return update

    return guard


async def _checked(
    deps: NodeDeps, state: SupportState, runtime: Runtime[Context]
) -> dict[str, Any]:
    """Validate the newest customer message; replace it if it must not be stored."""
    services = await deps.services()
    # First: a run that claims someone its caller may not be is refused (IdentityError),
    # before anything of the thread is read or returned.
    context = identity_of(runtime)
    deliver_in_background(services)  # tickets the helpdesk has not acknowledged yet
    update = per_turn_defaults()
    update["deadline_at"] = time.time() + services.settings.turn_deadline_s
    last = state.messages[-1] if state.messages else None
    if not isinstance(last, HumanMessage):
        update.update(
            rejection="empty", rejection_reply="I didn't receive a message. How can I help?"
        )
        return update
    thread_id = thread_of(get_config())
    if thread_id and not await services.owners.claim(context.tenant_id, context.user_id, thread_id):
        discard(last.content)  # what a refused message stashed is never read
        if caller_of(runtime) is not None:
            # Under the server API the run fails and returns nothing of the thread
            # (a server that skips the auth handlers on some endpoint still stops here).
            raise ThreadAccessError(
                f"thread {thread_id} belongs to another customer; agents reply by "
                "resuming an escalated thread"
            )
        update.update(rejection="foreign_thread", rejection_reply=_FOREIGN_THREAD)
        update["messages"] = [
            HumanMessage("[message refused: not this thread's customer]", id=last.id)
        ]
        return update
    try:
        content = restore(last.content)  # files and long text, out of the input channel
    except MissingStash:
        names = ", ".join(stashed_names(last.content)) or "a long message"
        update.update(rejection="lost_input", rejection_reply=_LOST_INPUT)
        update["messages"] = [HumanMessage(f"[not received: {names}]", id=last.id)]
        return update
    if message_text(content)[1]:
        return await _guard_with_files(services, state, last, content, context, thread_id, update)
    verdict = check_message(content, services.settings.max_message_chars)
    if state.escalation and not verdict.rejection:
        update["outcome"] = "escalated"  # a human answers this turn (see handoff)
    if verdict.rejection:
        update.update(rejection=verdict.rejection, rejection_reply=verdict.reply)
        if verdict.placeholder is not None:
            update["messages"] = [HumanMessage(verdict.placeholder, id=last.id)]
        elif content is not last.content:
            update["messages"] = [HumanMessage(message_text(content)[0], id=last.id)]
    elif content is not last.content or verdict.text != message_text(content)[0]:
        update["messages"] = [HumanMessage(verdict.text, id=last.id)]
    return update


async def _guard_with_files(
    services: Services,
    state: SupportState,
    last: HumanMessage,
    content: Any,
    context: Context,
    thread_id: str,
    update: dict[str, Any],
) -> dict[str, Any]:
    """Store the message's files; keep only its words and references to them."""
    intake = await receive_attachments(services, content, context, thread_id)
    received = [ref.as_state() for ref in intake.received]
    known = {a["id"] for a in state.attachments}
    update["attachments"] = [*state.attachments, *(r for r in received if r["id"] not in known)]
    update["received_attachments"] = received
    update["attachment_notices"] = intake.notices
    verdict = check_message(intake.text, services.settings.max_message_chars)
    stored = verdict.placeholder or verdict.text
    if verdict.rejection == "empty":  # files and no question: say what was read, ask
        stored = _files_note(received) if received else "[attached: unreadable content]"
        update.update(
            rejection="attachment_only",
            rejection_reply=acknowledge(intake.received, intake.notices),
            attachment_notices=[],
        )
    elif verdict.rejection:
        update.update(rejection=verdict.rejection, rejection_reply=verdict.reply)
    elif state.escalation:
        update["outcome"] = "escalated"  # a human answers this turn (see handoff)
    if verdict.rejection != "empty" and received:
        stored = f"{stored}\n\n{_files_note(received)}"  # the thread shows what was sent
    update["messages"] = [
        HumanMessage(stored, id=last.id, additional_kwargs={"attachments": received})
    ]
    return update


def _files_note(received: list[dict[str, Any]]) -> str:
    """``[attached: invoice.pdf (pdf, 41 KB)]``: names, types and sizes, never bytes."""
    described = [
        f"{r['filename']} ({r.get('type') or 'unknown type'}, {_size(r.get('size_bytes') or 0)})"
        for r in received
    ]
    return f"[attached: {'; '.join(described)}]"


def _size(size: int) -> str:
    if size < 1000:
        return f"{size} bytes"
    if size < 1_000_000:
        return f"{round(size / 1000)} KB"
    return f"{size / 1_000_000:.1f} MB"
