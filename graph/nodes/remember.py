"""The ``remember`` node: store what the customer just said, recall what matters now.

Runs after ``retrieve``. The message is redacted first; extraction uses the model's
structured output in LLM mode and deterministic rules otherwise (or when the model
fails). A memory store failure never fails the turn. Recalled plan and product memories also
shape the LLM-free answer: passages naming the customer's plan or product are
moved ahead, and their words weigh in sentence selection.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.config import get_config
from langgraph.runtime import Runtime

from graph.memory_llm import llm_extract_memories
from graph.message_checks import message_text
from graph.nodes.deps import Node, NodeDeps
from state import ANONYMOUS_USER, Context, Passage, RecalledMemoryState, SupportState
from tools.identity import identity_of, thread_of
from tools.knowledge_base.lexical import tokenize
from tools.memory.store import RecalledMemory
from tools.redaction.secrets import redact
from tools.services import Services

__all__ = ["make_remember", "memory_focus", "remember_turn", "shape_by_memories"]

logger = logging.getLogger(__name__)

_NEAR = 0.05
"""Cosine margin within which a passage naming the customer's plan may move first."""
_VALUE = re.compile(r"^(?:On the (?P<plan>.+) plan|Has an? (?P<product>[^(]+?))(?:\s*\(.*)?$")


def memory_focus(memories: list[RecalledMemoryState]) -> dict[str, str]:
    """Plan and product values the customer told us, with how to say them back."""
    focus: dict[str, str] = {}
    for memory in memories:
        value = _slot_value(memory)
        if value and memory["slot"] == "plan":
            focus[value] = f"you're on the {value} plan"
        elif value and memory["slot"] == "product":
            focus[value] = f"you have a {value}"
    return focus


def _slot_value(memory: RecalledMemoryState) -> str | None:
    match = _VALUE.match(memory["content"])
    if not match:
        return None
    return (match.group("plan") or match.group("product") or "").strip() or None


def shape_by_memories(
    passages: list[Passage],
    terms: dict[str, float],
    memories: list[RecalledMemoryState],
    query: str = "",
) -> tuple[list[Passage], dict[str, float]]:
    """Move passages that name the customer's plan or product first; weigh those words.

    Only for what the query does not name already: the search has weighed those words,
    and counting them twice would put a passing mention of the product ahead of what
    was asked ("I bought a Lumora Bulb … can I return it?" is not about the bulb).

    >>> p = [{"doc_id": "a", "text": "Basic keeps 24 hours.", "dense": 0.61},
    ...      {"doc_id": "b", "text": "Pro keeps 60 days.", "dense": 0.60}]
    >>> m = [{"id": 1, "kind": "fact", "slot": "plan", "content": "On the Pro plan", "score": 1.0}]
    >>> [x["doc_id"] for x in shape_by_memories(p, {}, m)[0]]
    ['b', 'a']
    >>> [x["doc_id"] for x in shape_by_memories(p, {}, m, "I'm on Pro: how long?")[0]]
    ['a', 'b']
    """
    asked = set(tokenize(query))
    values = [v for v in (_slot_value(m) for m in memories) if v and not set(tokenize(v)) <= asked]
    if not values:
        return passages, terms
    patterns = [re.compile(rf"\b{re.escape(v)}\b") for v in values]
    # Only among passages nearly as relevant as the best: a passing mention of "Pro"
    # in a less relevant article must not displace the right one.
    best = max((p.get("dense", 0.0) for p in passages), default=0.0)
    named = [
        p
        for p in passages
        if p.get("dense", 0.0) >= best - _NEAR and any(pat.search(p["text"]) for pat in patterns)
    ]
    others = [p for p in passages if p not in named]
    boost = max(terms.values(), default=1.0)
    shaped_terms = dict(terms)
    for value in values:
        for term in tokenize(value):
            shaped_terms[term] = max(shaped_terms.get(term, 0.0), boost)
    return named + others, shaped_terms


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
) -> dict[str, Any]:
    """Store new facts from the latest message and recall this turn's memories."""
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

    async def store_and_recall() -> list[RecalledMemory]:
        if candidates:
            await store.remember(
                context.tenant_id,
                context.user_id,
                candidates,
                thread_id=thread_id or None,
                message_id=last.id,
            )
        return await store.recall(context.tenant_id, context.user_id, state.query or text)

    # Bounded like every dependency: a hung database costs the turn its memories, not more.
    outcome = await services.resilience.run("memory_store", store_and_recall)
    if not outcome.ok:
        logger.warning("memory unavailable this turn: %s", outcome.error_kind)
        return {"degraded": ",".join(filter(None, [state.degraded, "memory_unavailable"]))}
    recalled = outcome.data
    memories = [_as_state(m) for m in recalled]
    # The customer's own files that lead this turn stay in front: the question is about them.
    # Nor are their words re-weighted by what we remember: a plan or product named in
    # memory says nothing about which line of an invoice answers.
    files = state.passages[: state.attachment_passages]
    articles, terms = shape_by_memories(
        state.passages[state.attachment_passages :], state.query_terms, memories, state.query
    )
    passages = [*files, *articles]
    if files:
        terms = state.query_terms
    # Only what changed: every channel written is another blob in the checkpoint.
    update: dict[str, Any] = {}
    if memories != state.memories:
        update["memories"] = memories
    if passages != state.passages:
        update["passages"] = passages
    if terms != state.query_terms:
        update["query_terms"] = terms
    return update


def make_remember(deps: NodeDeps) -> Node:
    """The remember node over ``deps``."""

    async def remember(state: SupportState, runtime: Runtime[Context]) -> dict[str, Any]:
        """Store what the customer said; recall their memories for this turn."""
        services = await deps.services()
        return await remember_turn(
            services, state, identity_of(runtime), get_config(), model=deps.model
        )

    return remember
