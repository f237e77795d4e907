"""Routing decisions: pure functions of the turn's evidence, unit-tested without a graph.

The model never decides alone whether to answer: code does, from the guard's
verdict and the retrieval scores, and records why.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["Route", "decide_route"]

Route = Literal["answer", "abstain"]


def decide_route(
    *, rejection: str | None, passages: int, top_score: float, threshold: float
) -> tuple[Route, list[str]]:
    """Answer only when the knowledge base holds something close enough to the question.

    >>> decide_route(rejection=None, passages=3, top_score=0.62, threshold=0.4)
    ('answer', ['grounded'])
    >>> decide_route(rejection=None, passages=3, top_score=0.21, threshold=0.4)
    ('abstain', ['low_confidence'])
    """
    if rejection:
        return "abstain", [f"input_{rejection}"]
    if passages == 0:
        return "abstain", ["no_passages"]
    if top_score < threshold:
        return "abstain", ["low_confidence"]
    return "answer", ["grounded"]
