"""The graph's input channel: files and long text leave a turn's input before any checkpoint.

LangGraph checkpoints a run's input as it arrives (the ``input`` checkpoint holds the
``__start__`` channel), and then the state after ``__start__`` copies it into
``messages``: both are written before the ``guard`` node can replace the message, and
with the servers' default durability both stay in the thread's history for its
whole life (readable by ``get_history``). So the input channel itself takes every
non-text block (a file's base64) and any long text out of the new messages, keeps
them in a process-local stash for at most ``STASH_TTL_S``, and leaves a reference
block ``{"type": "stashed", "token": ...}`` in their place. The guard of the same
run puts them back (``restore``), checks them, stores files in the attachments table
and writes the message that the thread keeps. The run that wrote the input is the
run that reads it, in the same process, so a stash per process is enough; a
reference whose content is gone (the process restarted between the two) is reported
to the customer by the guard, never guessed.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from langchain_core.messages import AnyMessage, BaseMessage, HumanMessage, convert_to_messages
from langgraph.channels.ephemeral_value import EphemeralValue

from graph.message_checks import message_content
from tools.attachments.input import block_label

__all__ = [
    "INPUT_BATCH",
    "LONG_TEXT_CHARS",
    "STASH_TTL_S",
    "InputChannel",
    "MissingStash",
    "discard",
    "restore",
    "stamped",
    "stashed_names",
    "take_out",
]

LONG_TEXT_CHARS = 2_000
"""Text longer than this is stashed too (the guard decides whether it is kept)."""
logger = logging.getLogger(__name__)

STASH_TTL_S = 600.0
"""How long stashed content waits for its run's guard."""
STASH_MAX_BYTES = 512_000_000
"""The oldest entries go first beyond this (a burst of large files)."""
INPUT_BATCH = "input_batch"
"""``additional_kwargs`` key: which run's input a customer message came with."""
STASHED = "stashed"
"""The type of a reference block left in the input."""


class MissingStash(LookupError):
    """A reference whose content is no longer held (the process restarted, or it expired)."""


class _Stash:
    """Content taken out of inputs, by token, until the guard takes it back."""

    def __init__(self) -> None:
        self._items: OrderedDict[str, tuple[float, int, Any]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def put(self, value: Any, size: int) -> str:
        token = secrets.token_urlsafe(18)
        now = time.monotonic()
        with self._lock:
            self._items[token] = (now, size, value)
            self._bytes += size
            while self._items and (
                self._bytes > STASH_MAX_BYTES
                or next(iter(self._items.values()))[0] < now - STASH_TTL_S
            ):
                _, (_, old_size, _) = self._items.popitem(last=False)
                self._bytes -= old_size
        return token

    def take(self, token: str) -> Any:
        with self._lock:
            item = self._items.pop(token, None)
            if item is None:
                raise MissingStash(token)
            self._bytes -= item[1]
        return item[2]


_stash = _Stash()


def _size(block: Any) -> int:
    if isinstance(block, str):
        return len(block)
    if isinstance(block, dict):
        return sum(_size(v) for v in block.values())
    if isinstance(block, list):
        return sum(_size(v) for v in block)
    return 64


def _describe(block: dict[str, Any]) -> dict[str, Any]:
    """What the reference keeps of a block: its kind, name and type, never its data."""
    name, mime = block_label(block)
    described = {"kind": str(block.get("type", ""))[:32]}
    if name:
        described["filename"] = name
    if mime:
        described["mime_type"] = mime
    return described


def _stash_block(block: Any) -> Any:
    if isinstance(block, str):
        if len(block) <= LONG_TEXT_CHARS:
            return block
        return {"type": STASHED, "token": _stash.put(block, len(block)), "kind": "text"}
    if isinstance(block, dict) and block.get("type") == "text":
        text = block.get("text")
        if not isinstance(text, str) or len(text) <= LONG_TEXT_CHARS:
            return block
        return {"type": STASHED, "token": _stash.put(block, len(text)), "kind": "text"}
    if isinstance(block, dict) and block.get("type") == STASHED:
        return {"type": "text", "text": ""}  # a client cannot name someone else's stash
    return {"type": STASHED, "token": _stash.put(block, _size(block)), **_describe(block)}


def _take_out_of(message: BaseMessage) -> BaseMessage:
    if not isinstance(message, HumanMessage):
        return message
    content = message.content
    blocks = [content] if isinstance(content, str) else list(content)
    stashed = [_stash_block(block) for block in blocks]
    if all(a is b for a, b in zip(stashed, blocks, strict=True)):
        return message
    return message.model_copy(update={"content": stashed})


def take_out(value: Any) -> Any:
    """The input with its messages' files and long text replaced by stash references."""
    if isinstance(value, dict) and "messages" in value:
        return {**value, "messages": _messages(value["messages"])}
    messages = getattr(value, "messages", None)
    if messages is not None and hasattr(value, "__dataclass_fields__"):
        return replace(value, messages=_messages(messages))
    return value


def _messages(messages: Any) -> list[AnyMessage]:
    """The input's messages, each one a message LangChain accepts.

    Any content shape is made acceptable (``message_content``), and a message that
    still is not one (an unknown role) is dropped: the guard replies instead of the
    run failing on validation.
    """
    if not isinstance(messages, list):
        messages = [messages]
    converted: list[AnyMessage] = []
    batch = secrets.token_urlsafe(9)  # which run brought them (``graph.failed_turn``)
    for message in messages:
        if isinstance(message, dict) and "content" in message:
            message = {**message, "content": message_content(message["content"])}
        try:
            converted.extend(convert_to_messages([message]))  # type: ignore[arg-type]
        except (ValueError, TypeError, NotImplementedError) as exc:
            logger.info("input message dropped: %s", type(exc).__name__)
    return [_take_out_of(stamped(m, batch)) for m in converted]  # type: ignore[misc]


def stamped(message: BaseMessage, batch: str | None) -> BaseMessage:
    """A customer message marked with the run that brought it (``INPUT_BATCH``)."""
    if batch is None or not isinstance(message, HumanMessage):
        return message
    if message.additional_kwargs.get(INPUT_BATCH) == batch:
        return message
    return message.model_copy(
        update={"additional_kwargs": {**message.additional_kwargs, INPUT_BATCH: batch}}
    )


def restore(content: Any) -> Any:
    """A message's content with its stashed blocks put back (``MissingStash`` if one is gone)."""
    if isinstance(content, str):
        return content
    restored = []
    for block in content:
        if isinstance(block, dict) and block.get("type") == STASHED:
            restored.append(_stash.take(str(block.get("token"))))
        else:
            restored.append(block)
    if len(restored) == 1 and isinstance(restored[0], str):
        return restored[0]
    return restored


def discard(content: Any) -> None:
    """Drop what a refused message stashed (it will never be read)."""
    if isinstance(content, list):
        for block in content:
            if isinstance(block, dict) and block.get("type") == STASHED:
                with contextlib.suppress(MissingStash):
                    _stash.take(str(block.get("token")))


def stashed_names(content: Any) -> list[str]:
    """File names of a content's references (what the customer sent, for a notice)."""
    if isinstance(content, str):
        return []
    return [
        str(b.get("filename") or b.get("kind") or "file")
        for b in content
        if isinstance(b, dict) and b.get("type") == STASHED and b.get("kind") != "text"
    ]


class InputChannel(EphemeralValue[Any]):
    """The ``__start__`` channel, taking files and long text out of what it receives."""

    def update(self, values: Sequence[Any]) -> bool:
        """Store the step's input, its files and long text replaced by references."""
        return super().update([take_out(value) for value in values])
