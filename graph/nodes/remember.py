"""The ``remember`` node: store what the customer just said, recall what matters now.

Runs alongside ``retrieve`` (both after ``guard``) and recalls by the same query
(``NodeDeps.queries``). The message is redacted first; extraction uses the model's
structured output in LLM mode and deterministic rules otherwise (or when the model
fails). A memory store failure never fails the turn. Recalled plan and product memories
also shape the LLM-free answer, once the search is in (``graph.memory_focus``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.config import get_config
from langgraph.runtime import Runtime

from graph.memory_llm import llm_extract_memories
from graph.message_checks import message_text
from graph.nodes.deps import Node, NodeDeps
from state import ANONYMOUS_USER, Context, RecalledMemoryState, SupportState
from tools.identity import identity_of, thread_of
from tools.memory.store import RecalledMemory
from tools.redaction.secrets import redact
from tools.services import Services

__all__ = ["make_remember", "remember_turn"]

logger = logging.getLogger(__name__)


def _as_state(memory: RecalledMemory) -> RecalledMemoryState:
    return RecalledMemoryState(
        id=memory.id,
        kind=memory.kind,
        slot=memory.slot,
        content=memory.content,
        score=memory.score,
    )


async def remember_turn(
    services: Services,
    state: SupportState,
    context: Context,
    config: RunnableConfig,
    model: Any = None,
    query: Callable[[], Awaitable[str]] | None = None,
) -> dict[str, Any]:
    """Store new facts from the latest message and recall this turn's memories.

    ``query`` gives the turn's search query to recall by (else ``state.query``, else the
    message itself).
    """
    if not services.settings.memory_enabled or not state.messages:
        return {}
    if context.user_id == ANONYMOUS_USER:
        return {}  # strangers share this id: remembering would leak between them
    last = state.messages[-1]
    if not isinstance(last, HumanMessage):
        return {}
    thread_id = thread_of(config)
    text = redact(message_text(last.content)[0])
    store = services.memory

    # Outside the store's timeout: a slow model must not cost what the customer said.
    candidates = await llm_extract_memories(services, model, text)
    # Nor the query's: in LLM mode a follow-up's is the model's rewrite.
    recall_by = (await query() if query else "") or state.query or text

    async def store_and_recall() -> list[RecalledMemory]:
        return await store.remember_and_recall(
            context.tenant_id,
            context.user_id,
            candidates,
            recall_by,
            thread_id=thread_id or None,
            message_id=last.id,
        )

    # Bounded like every dependency: a hung database costs the turn its memories, not more.
    outcome = await services.resilience.run("memory_store", store_and_recall)
    if not outcome.ok:
        logger.warning("memory unavailable this turn: %s", outcome.error_kind)
        return {"degraded": "memory_unavailable"}  # added to what the search reports
    memories = [_as_state(m) for m in outcome.data]
    # Only what changed: every channel written is another blob in the checkpoint.
    return {"memories": memories} if memories != state.memories else {}


def make_remember(deps: NodeDeps) -> Node:
    """The remember node over ``deps``."""

    async def remember(state: SupportState, runtime: Runtime[Context]) -> dict[str, Any]:
        """Store what the customer said; recall their memories for this turn."""
        services = await deps.services()
        context, config = identity_of(runtime), get_config()

        def query() -> Awaitable[str]:
            return deps.queries.of(
                state, services, deps.model, context.tenant_id, thread_of(config)
            )

        return await remember_turn(services, state, context, config, deps.model, query)

    return remember
