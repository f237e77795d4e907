"""Who a document is for: customers, or staff only.

A knowledge base often holds articles for its agents beside the help centre
("Refund overrides (Internal)"). Such a document is never cited, quoted or listed
to a customer; the turn keeps its title for the ticket, so the human who takes
over sees it. A document's own ``metadata.audience`` decides (``internal``,
``staff``, ``agents`` or ``private`` mark it; anything else, such as ``customer``,
clears it); otherwise the knowledge base's pattern over its title and id does.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

__all__ = ["is_internal"]

_STAFF_AUDIENCES = frozenset({"internal", "staff", "agents", "private"})


@lru_cache(maxsize=64)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.I)


def is_internal(meta: dict[str, Any], pattern: str) -> bool:
    r"""Whether a chunk's document is for staff only.

    >>> rule = r"\(internal\)\s*$|(^|/)internal/"
    >>> is_internal({"title": "Card disputes (Internal)", "doc_id": "d1"}, rule)
    True
    >>> is_internal({"title": "Card disputes", "doc_id": "internal/disputes.md"}, rule)
    True
    >>> is_internal({"title": "Notes (Internal)", "doc_id": "d2", "audience": "customer"}, rule)
    False
    >>> is_internal({"title": "Card disputes", "doc_id": "d3"}, rule)
    False
    """
    audience = str(meta.get("audience") or "").strip().lower()
    if audience:
        return audience in _STAFF_AUDIENCES
    rule = _compiled(pattern)
    return bool(rule.search(str(meta.get("title", ""))) or rule.search(str(meta.get("doc_id", ""))))
