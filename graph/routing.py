"""Routing decisions: pure functions of the turn's evidence, unit-tested without a graph.

The model never decides alone whether to answer: code does, from the guard's
verdict and the retrieval scores, and records why.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["Route", "decide_route"]

Route = Literal["answer", "abstain"]


def decide_route(
    *,
    rejection: str | None,
    passages: int,
    top_score: float,
    threshold: float,
    kb_error: str | None = None,
    attachment_passages: int = 0,
) -> tuple[Route, list[str]]:
    """Answer only when the knowledge base (or the customer's own file) holds the answer.

    >>> decide_route(rejection=None, passages=3, top_score=0.62, threshold=0.4)
    ('answer', ['grounded'])
    >>> decide_route(rejection=None, passages=3, top_score=0.21, threshold=0.4)
    ('abstain', ['low_confidence'])
    >>> decide_route(rejection=None, passages=0, top_score=0, threshold=0.4, kb_error="timeout")
    ('abstain', ['kb_unavailable'])
    >>> decide_route(
    ...     rejection=None, passages=1, top_score=0.1, threshold=0.4, attachment_passages=1
    ... )
    ('answer', ['grounded_attachment'])
    """
    if rejection:
        return "abstain", [f"input_{rejection}"]
    if attachment_passages:
        return "answer", ["grounded_attachment"]
    if kb_error and passages == 0:
        return "abstain", ["kb_unavailable"]
    if kb_error:
        # BM25-only fallback: top_score is the share of the query found in the best chunk
        if top_score < threshold:
            return "abstain", ["kb_degraded", "low_confidence"]
        return "answer", ["kb_degraded", "grounded_lexical"]
    if passages == 0:
        return "abstain", ["no_passages"]
    if top_score < threshold:
        return "abstain", ["low_confidence"]
    return "answer", ["grounded"]
