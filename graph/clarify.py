"""A clarifying question for an underspecified message, instead of "I couldn't find it".

"What facilities does this library provide?" with no library named anywhere in the
conversation cannot be answered from any article: the customer means one they have
not told us. When such a turn would abstain, the reply asks which one they mean.
"""

from __future__ import annotations

import re

__all__ = ["clarifying_question", "unresolved_reference"]

_DEMONSTRATIVE = re.compile(r"\b(?:this|that|these|those)\s+([a-z][a-z-]{2,})\b", re.I)
_POSSESSIVE = re.compile(r"\bthe\s+([a-z][a-z-]{2,})[’']s\b", re.I)
_NOT_A_THING = frozenset(
    [
        "is",
        "was",
        "are",
        "were",
        "will",
        "would",
        "can",
        "could",
        "should",
        "does",
        "did",
        "has",
        "have",
        "had",
        "one",
        "ones",
        "time",
        "times",
        "way",
        "ways",
        "morning",
        "afternoon",
        "evening",
        "week",
        "weekend",
        "month",
        "year",
        "day",
        "question",
        "page",
        "message",
        "chat",
        "conversation",
        "site",
        "website",
        "app",
        "means",
        "much",
        "many",
        "kind",
        "sort",
        "the",
        "and",
        "but",
        "not",
        "for",
        "with",
        "you",
        "your",
        "our",
        "their",
        "his",
        "her",
        "its",
    ]
)


def unresolved_reference(message: str) -> str | None:
    """The thing a message points at without naming it ("this library" → "library").

    >>> unresolved_reference("What facilities does this library provide?")
    'library'
    >>> unresolved_reference("Do this ocean currents matter?")
    'ocean'
    >>> unresolved_reference("How did the actor's training change?")
    'actor'
    >>> unresolved_reference("Is this the right page?") is None
    True
    """
    match = _DEMONSTRATIVE.search(message)
    if match and match.group(1).lower() not in _NOT_A_THING:
        return match.group(1).lower()
    match = _POSSESSIVE.search(message)
    return match.group(1).lower() if match else None


def clarifying_question(message: str) -> str | None:
    """Ask which one the customer means, when the message points at something unnamed.

    >>> clarifying_question("What awards has this actor received?")
    "Which actor do you mean? Tell me the name and I'll look it up."
    """
    thing = unresolved_reference(message)
    if thing is None:
        return None
    return f"Which {thing} do you mean? Tell me the name and I'll look it up."
