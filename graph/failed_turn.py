"""A turn that failed after its message was checkpointed leaves no unanswered question.

A run can die between checkpointing the customer's message and writing the reply (the
database goes away, a bug, the process is killed). The customer was told it failed (an
error from ``ask``, the CLI or the server's run), so they send it again; the thread must
not keep the first copy as a question nobody answered (or, in LLM mode, a tool call
without its result, which the model's API refuses). The failed turn's messages are
removed: at once by the embedded runner when the store still answers, otherwise by the
next turn's ``guard`` (the only repair a server's failed run gets).

Every turn that completes ends with a reply (an answer, a question back, a handover
or a human's words), so what follows the last reply is a failed turn. It is found from
the messages alone because its own writes may be what the outage lost: the message is
checkpointed with the run's input, before any node runs. History imported from another
channel (``SupportAgent.import_history``) is marked and never taken for one.
"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, RemoveMessage

__all__ = ["IMPORTED", "removal_of_failed_turn", "unanswered_turn"]

IMPORTED = "imported"
"""``additional_kwargs`` key of a message recorded from another channel."""


def _ends_a_turn(message: AnyMessage) -> bool:
    """A reply to the customer (not a model's request to run a tool), or imported history."""
    if message.additional_kwargs.get(IMPORTED):
        return True
    return isinstance(message, AIMessage) and not message.tool_calls


def unanswered_turn(messages: Sequence[AnyMessage], *, before: str | None = None) -> list[str]:
    """Ids of the messages after the last reply, if they hold a customer message.

    ``before`` is the id of the message now being handled: it and what follows it are
    not part of the failed turn.

    >>> q, a = HumanMessage("hi", id="q"), AIMessage("Hello!", id="a")
    >>> unanswered_turn([a, q, HumanMessage("again", id="n")], before="n")
    ['q']
    >>> unanswered_turn([q, a, HumanMessage("x", id="n")], before="n")
    []
    >>> call = AIMessage("", id="c", tool_calls=[{"name": "s", "args": {}, "id": "1"}])
    >>> unanswered_turn([q, call])
    ['q', 'c']
    """
    ids = [m.id for m in messages]
    end = ids.index(before) if before in ids else len(messages)
    turn: list[AnyMessage] = []
    for message in reversed(messages[:end]):
        if _ends_a_turn(message):
            break
        turn.insert(0, message)
    if not any(isinstance(m, HumanMessage) for m in turn):
        return []
    return [m.id for m in turn if m.id]


def removal_of_failed_turn(
    messages: Sequence[AnyMessage], *, before: str | None = None
) -> list[RemoveMessage]:
    """The ``messages`` update that drops an unanswered turn (empty when there is none)."""
    return [RemoveMessage(id=i) for i in unanswered_turn(messages, before=before)]
