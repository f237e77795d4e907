"""A scripted chat model for the LLM path: replies in order, may act between them.

A ``GenericFakeChatModel`` whose ``bind_tools`` records the tools and returns itself,
so the graph's real tool binding and ``ToolNode`` run; a step may be a callable,
run when that reply is due (to open a breaker mid-turn, say).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from pydantic import Field


def _replies(steps: Sequence[AIMessage | Callable[[], AIMessage]]) -> Iterator[AIMessage]:
    for step in steps:
        yield step() if callable(step) else step


class ScriptedChatModel(GenericFakeChatModel):
    """Replies with ``steps`` in order; remembers the tools it was offered."""

    offered: list[list[str]] = Field(default_factory=list)

    @classmethod
    def of(cls, *steps: AIMessage | Callable[[], AIMessage]) -> ScriptedChatModel:
        return cls(messages=_replies(steps))

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedChatModel:
        self.offered.append([getattr(t, "name", str(t)) for t in tools])
        return self


def tool_call(name: str, args: dict, call_id: str = "call-1") -> AIMessage:
    return AIMessage("", tool_calls=[{"name": name, "args": args, "id": call_id}])
