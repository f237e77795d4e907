"""The human handover's wire format: what the interrupt shows, what a resume may say.

The interrupt value is LangChain's human-in-the-loop request (``action_requests`` and
``review_configs``, what agent-chat-ui renders with a reply control today) and,
in the same object, agent-inbox's older ``HumanInterrupt`` (``action_request``,
``config``, ``description``), with the ticket's own fields under ``ticket``. One
action is requested: ``reply_to_customer`` with the arguments ``reply`` and ``resolve``.

A resume is read by ``parse_resume``, from any of these payloads:

* ours: ``{"reply": "...", "resolve": false, "name": "Sam"}`` (``name`` optional);
* a plain string: the reply;
* HITL: ``{"decisions": [d]}`` where ``d`` is ``{"type": "edit", "edited_action":
  {"name": "reply_to_customer", "args": {"reply", "resolve"}}}`` (the reply), ``{"type":
  "reject", "message": "..."}`` (the message is the reply, the thread stays with the
  human) or ``{"type": "approve"}`` (resolve: the thread goes back to the assistant);
* agent-inbox: ``[{"type": "response", "args": "..."}]`` (the reply), ``[{"type":
  "edit", "args": {"action", "args": {...}}}]``, ``[{"type": "accept"}]`` or
  ``[{"type": "ignore"}]`` (resolve without a reply).

Anything else is a ``ResumeError`` with what was expected: a reply is never lost
silently. Pure functions, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["ACTION", "HumanReply", "ResumeError", "handover_request", "parse_resume"]

ACTION = "reply_to_customer"
"""The one action a handover asks the human for."""
_EXPECTED = (
    'expected {"reply": "...", "resolve": true|false}, a plain string, '
    '{"decisions": [...]} (agent-chat-ui) or a list of agent-inbox responses'
)


class ResumeError(ValueError):
    """A resume payload that says no reply and no resolution (the client must fix it)."""


@dataclass(frozen=True)
class HumanReply:
    """What the human said: a reply for the customer, and whether the ticket is resolved."""

    reply: str
    resolve: bool
    name: str | None = None
    """The person's name, when the payload gives one (shown to the customer)."""


def handover_request(ticket: dict[str, Any], summary: str) -> dict[str, Any]:
    """The interrupt value for an escalated thread (both UI shapes and the ticket).

    >>> request = handover_request({"ticket_id": 7, "reasons": ["human_requested"]}, "…")
    >>> request["action_requests"][0]["name"], request["review_configs"][0]["action_name"]
    ('reply_to_customer', 'reply_to_customer')
    >>> sorted(request["config"])
    ['allow_accept', 'allow_edit', 'allow_ignore', 'allow_respond']
    """
    reasons = ", ".join(ticket.get("reasons") or []) or "none recorded"
    description = (
        f"**Ticket #{ticket.get('ticket_id')}** ({reasons}).\n\n"
        f"{summary}\n\n"
        "Edit `reply` to answer the customer (set `resolve` to true to hand the "
        "conversation back to the assistant), reject with a message to reply and keep "
        "the conversation, or approve to resolve it without a reply."
    )
    args = {"reply": "", "resolve": False}
    return {
        "action_requests": [{"name": ACTION, "args": args, "description": description}],
        "review_configs": [
            {"action_name": ACTION, "allowed_decisions": ["edit", "reject", "approve"]}
        ],
        "action_request": {"action": ACTION, "args": args},
        "config": {
            "allow_respond": True,
            "allow_edit": True,
            "allow_accept": True,
            "allow_ignore": True,
        },
        "description": description,
        "ticket": {**ticket, "summary": summary},
    }


def _flag(value: Any) -> bool:
    """A form's boolean: UIs send edited arguments back as strings."""
    if isinstance(value, str):
        return value.strip().lower() in {"true", "yes", "1", "on"}
    return bool(value)


def _from_args(args: Any, where: str) -> HumanReply:
    if not isinstance(args, dict):
        raise ResumeError(f"{where}: the edited arguments must be an object; {_EXPECTED}")
    reply = args.get("reply", "")
    if not isinstance(reply, str):
        raise ResumeError(f"{where}: 'reply' must be a string")
    name = args.get("name")
    return HumanReply(reply.strip(), _flag(args.get("resolve", False)), _name(name))


def _name(value: Any) -> str | None:
    return value.strip()[:80] or None if isinstance(value, str) else None


def _decision(decision: Any) -> HumanReply:
    kind = decision.get("type") if isinstance(decision, dict) else None
    if kind == "edit":
        action = decision.get("edited_action")
        if not isinstance(action, dict) or action.get("name", ACTION) != ACTION:
            raise ResumeError(f"the edited action must be {ACTION!r}")
        return _from_args(action.get("args"), "edit")
    if kind == "reject":
        message = decision.get("message")
        if not isinstance(message, str) or not message.strip():
            raise ResumeError("a 'reject' decision needs a 'message' (the reply)")
        return HumanReply(message.strip(), False)
    if kind == "approve":
        return HumanReply("", True)
    raise ResumeError(f"unknown decision {kind!r}: use edit, reject or approve")


def _inbox_response(response: Any) -> HumanReply:
    kind = response.get("type") if isinstance(response, dict) else None
    args = response.get("args") if isinstance(response, dict) else None
    if kind == "response":
        if not isinstance(args, str) or not args.strip():
            raise ResumeError("a 'response' needs its text in 'args'")
        return HumanReply(args.strip(), False)
    if kind == "edit":
        action = args if isinstance(args, dict) else {}
        return _from_args(action.get("args"), "edit")
    if kind in ("accept", "ignore"):
        return HumanReply("", True)
    raise ResumeError(f"unknown response type {kind!r}: use response, edit, accept or ignore")


def parse_resume(payload: Any) -> HumanReply:
    """The human's reply and resolution from any supported payload (``ResumeError`` if none).

    >>> parse_resume({"reply": "Refunded.", "resolve": True})
    HumanReply(reply='Refunded.', resolve=True, name=None)
    >>> parse_resume("On it.").reply
    'On it.'
    >>> parse_resume({"decisions": [{"type": "reject", "message": "Checking now."}]}).resolve
    False
    >>> parse_resume([{"type": "response", "args": "Done."}]).reply
    'Done.'
    >>> parse_resume({"accepted": True})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    graph.handover.ResumeError: expected {"reply": "...", "resolve": true|false}, ...
    """
    if isinstance(payload, str):
        if not payload.strip():
            raise ResumeError("the reply is empty")
        return HumanReply(payload.strip(), False)
    if isinstance(payload, dict) and "decisions" in payload:
        decisions = payload["decisions"]
        if not isinstance(decisions, list) or len(decisions) != 1:
            raise ResumeError("'decisions' must hold exactly one decision (one action is asked)")
        return _decision(decisions[0])
    if isinstance(payload, dict) and ("reply" in payload or "resolve" in payload):
        reply = _from_args(payload, "resume")
        if not reply.reply and not reply.resolve:
            raise ResumeError("the reply is empty and the thread is not resolved")
        return reply
    if isinstance(payload, list) and len(payload) == 1:
        return _inbox_response(payload[0])
    raise ResumeError(_EXPECTED)
