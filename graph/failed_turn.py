"""A turn that failed after its message was checkpointed leaves no unanswered question.

A run can die between checkpointing the customer's message and writing the reply (the
database goes away, a bug, the process is killed). The customer was told it failed (an
error from ``ask``, the CLI or the server's run), so they send it again; the thread must
not keep the first copy as a question nobody answered (or, in LLM mode, a tool call
without its result, which the model's API refuses). The failed turn's messages are
removed: at once by the embedded runner when the store still answers, otherwise by the
next turn's ``guard`` (the only repair a server's failed run gets).

Every turn that completes ends with a reply (an answer, a question back, a handover
or a human's words). The input channel marks each customer message with the run that
brought it (``graph.intake.INPUT_BATCH``), so a failed turn is a customer message of
another run after the thread's last reply; several messages sent in one run are one
turn. The mark travels with the message because the failed turn's own writes may be
what the outage lost. Messages without one (history imported with ``import_history``,
written by a client's ``update_state``, or from an older release) are never removed.
"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, RemoveMessage

from graph.intake import INPUT_BATCH

__all__ = ["IMPORTED", "batch_of", "removal_of_failed_turn", "unanswered_turn"]

IMPORTED = "imported"
"""``additional_kwargs`` key of a message recorded from another channel."""


def batch_of(message: AnyMessage) -> str | None:
    """The run whose input brought this customer message (None: not through a run)."""
    batch = message.additional_kwargs.get(INPUT_BATCH)
    return batch if isinstance(batch, str) else None


def _ends_a_turn(message: AnyMessage) -> bool:
    """A reply to the customer (not a model's request to run a tool), or imported history."""
    if message.additional_kwargs.get(IMPORTED):
        return True
    return isinstance(message, AIMessage) and not message.tool_calls


def unanswered_turn(messages: Sequence[AnyMessage], *, current: str | None = None) -> list[str]:
    """Ids of the messages a failed run left after the last reply.

    ``current`` is the batch of the run now handling the thread: its messages are not
    a failed turn. Customer messages without a batch are kept.

    >>> def asked(text, id, batch):
    ...     return HumanMessage(text, id=id, additional_kwargs={INPUT_BATCH: batch})
    >>> a = AIMessage("Hello!", id="a")
    >>> unanswered_turn([a, asked("hi", "q", "r1"), asked("again", "n", "r2")], current="r2")
    ['q']
    >>> unanswered_turn([a, asked("one", "q1", "r2"), asked("two", "q2", "r2")], current="r2")
    []
    >>> unanswered_turn([a, HumanMessage("written by update_state", id="u")])
    []
    >>> call = AIMessage("", id="c", tool_calls=[{"name": "s", "args": {}, "id": "1"}])
    >>> unanswered_turn([asked("hi", "q", "r1"), call])
    ['q', 'c']
    """
    stretch: list[AnyMessage] = []
    for message in reversed(messages):
        if _ends_a_turn(message):
            break
        stretch.insert(0, message)
    failed = [
        m for m in stretch if not isinstance(m, HumanMessage) or (batch_of(m) or current) != current
    ]
    if not any(isinstance(m, HumanMessage) for m in failed):
        return []
    return [m.id for m in failed if m.id]


def removal_of_failed_turn(
    messages: Sequence[AnyMessage], *, current: str | None = None
) -> list[RemoveMessage]:
    """The ``messages`` update that drops an unanswered turn (empty when there is none)."""
    return [RemoveMessage(id=i) for i in unanswered_turn(messages, current=current)]
