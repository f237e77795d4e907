"""The turn's search query, formed once for the two branches that read it.

``retrieve`` searches with it and ``remember`` recalls with it. They run side by side,
so whichever asks first forms it (in LLM mode a follow-up costs a model call) and the
other awaits the same result: both use the same query, as when they ran one after the
other.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage

from graph.message_checks import message_text
from graph.query import Turn
from graph.rewrite import standalone_query
from state import SupportState
from tools.services import Services

__all__ = ["TurnQueries", "conversation_turns"]


def conversation_turns(messages: list[AnyMessage]) -> list[Turn]:
    """The customer's and the assistant's words, oldest first (what a query is formed from)."""
    turns: list[Turn] = []
    for message in messages:
        if isinstance(message, HumanMessage | AIMessage):
            text = message_text(message.content)[0].strip()
            if text:
                turns.append(("user" if isinstance(message, HumanMessage) else "assistant", text))
    return turns


class TurnQueries:
    """The query of each recent turn, keyed by thread and message (a few hundred kept)."""

    def __init__(self, keep: int = 256) -> None:
        self._keep = keep
        self._formed: OrderedDict[tuple[str, str, str], asyncio.Future[str]] = OrderedDict()

    async def of(
        self, state: SupportState, services: Services, model: Any, tenant_id: str, thread_id: str
    ) -> str:
        """The search query for the newest message of ``state``."""
        turns = conversation_turns(state.messages)
        last = state.messages[-1] if state.messages else None
        key = (thread_id, str(getattr(last, "id", "")), turns[-1][1] if turns else "")
        loop = asyncio.get_running_loop()
        formed = self._formed.get(key)
        if formed is None or formed.get_loop() is not loop or formed.cancelled():
            formed = loop.create_task(self._form(services, model, tenant_id, turns))
            self._formed[key] = formed
            while len(self._formed) > self._keep:
                self._formed.popitem(last=False)
        try:
            # A branch that is cancelled must not cancel the other's query.
            return await asyncio.shield(formed)
        except Exception:
            if self._formed.get(key) is formed:  # the next attempt forms it again
                del self._formed[key]
            raise

    @staticmethod
    async def _form(services: Services, model: Any, tenant_id: str, turns: list[Turn]) -> str:
        kb = services.kb
        await kb.warm_up(tenant_id)  # model loading is start-up, not search time
        return await standalone_query(services, model, turns, kb.rarity(tenant_id))
