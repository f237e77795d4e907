"""How recalled plan and product memories shape the LLM-free answer.

Passages naming the customer's plan or product move ahead (among those nearly as
relevant as the best), their words weigh in sentence selection, and the answer can say
them back. Applied where the search and the recall meet (``route``): the two run side by
side.
"""

from __future__ import annotations

import re
from typing import Any

from state import Passage, RecalledMemoryState, SupportState
from tools.knowledge_base.lexical import tokenize

__all__ = ["memory_focus", "shape_by_memories", "shaped_by_memories"]

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


def shaped_by_memories(state: SupportState) -> dict[str, Any]:
    """The update that orders this turn's passages by its memories (changed channels only).

    The customer's own files that lead this turn stay in front: the question is about them.
    Nor are their words re-weighted by what we remember: a plan or product named in
    memory says nothing about which line of an invoice answers.
    """
    if not state.memories:
        return {}
    files = state.passages[: state.attachment_passages]
    articles, terms = shape_by_memories(
        state.passages[state.attachment_passages :],
        state.query_terms,
        state.memories,
        state.query,
    )
    passages = [*files, *articles]
    if files:
        terms = state.query_terms
    # Only what changed: every channel written is another blob in the checkpoint.
    update: dict[str, Any] = {}
    if passages != state.passages:
        update["passages"] = passages
    if terms != state.query_terms:
        update["query_terms"] = terms
    return update
