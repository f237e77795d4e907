"""The search query in LLM mode: the model's standalone rewrite of a follow-up.

Only a message the LLM-free method finds leaning on earlier turns is rewritten (a
standalone one costs no model round trip); any failure (breaker open, timeout,
an empty or runaway reply) falls back to the LLM-free ``form_query``. The call is
internal (``nostream``): customers never see it stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langgraph.constants import TAG_NOSTREAM

from graph.prompts import QUERY_REWRITE
from graph.query import Rarity, Turn, form_query
from tools.services import Services

__all__ = ["standalone_query"]

_HISTORY_TURNS = 6
_TURN_CHARS = 500
_MAX_QUERY_CHARS = 500


async def standalone_query(
    services: Services, model: Any, turns: Sequence[Turn], rarity: Rarity | None
) -> str:
    """The query for the last of ``turns``: the model's rewrite, or the LLM-free one."""
    fallback = form_query(turns, rarity)
    if model is None or not turns or fallback == turns[-1][1].strip():
        return fallback  # standalone: no model round trip
    conversation = "\n".join(
        f"{role}: {text[:_TURN_CHARS]}" for role, text in turns[-_HISTORY_TURNS - 1 : -1]
    )
    prompt = QUERY_REWRITE.format(conversation=conversation, message=turns[-1][1])
    try:
        reply, _ = await services.resilience.call(
            "model",  # the answer's breaker: a dead endpoint is not called again here
            lambda: model.ainvoke(prompt, config={"tags": [TAG_NOSTREAM]}),
        )
    except Exception:
        return fallback
    text = str(getattr(reply, "text", "") or "").strip().strip('"').strip()
    if not text or len(text) > _MAX_QUERY_CHARS or "\n" in text:
        return fallback
    return text
