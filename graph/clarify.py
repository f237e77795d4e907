"""A clarifying question for an underspecified message, instead of "I couldn't find it".

"What facilities does this library provide?" with no library named anywhere in the
conversation cannot be answered from any article: the customer means one they have
not told us. When such a turn would abstain, the reply asks which one they mean.
"""

from __future__ import annotations

import re

__all__ = ["clarifying_question", "unresolved_reference"]

_DEMONSTRATIVE = re.compile(
    r"\b(?:this|that|these|those)\s+(?:[a-z]+ed\s+)?([a-z][a-z-]{2,})\b", re.I
)
"""'this X' ('those suggested items': the noun after a participle)."""
_POSSESSIVE = re.compile(r"\bthe\s+([a-z][a-z-]{2,})[’']s\b", re.I)
_DEFINITE = re.compile(
    r"\bthe\s+([a-z][a-z-]{2,})\b(?![’']s)(?!\s+(?:who|whom|whose|that|which|of)\b)",
    re.I,
)
"""'the X', not 'the X's' and not 'the X who / of …' (what follows says which one)."""
_WORD = re.compile(r"[a-z][a-z-]+")
_ONE_OF_MANY = frozenset(
    [
        "actor",
        "actress",
        "player",
        "athlete",
        "singer",
        "artist",
        "author",
        "writer",
        "president",
        "senator",
        "company",
        "chain",
        "restaurant",
        "hotel",
        "hospital",
        "clinic",
        "school",
        "university",
        "college",
        "library",
        "museum",
        "park",
        "stadium",
        "team",
        "club",
        "band",
        "show",
        "series",
        "movie",
        "film",
        "book",
        "song",
        "album",
        "game",
        "country",
        "state",
        "city",
        "county",
        "town",
        "region",
        "province",
        "language",
        "animal",
        "breed",
        "species",
    ]
)
"""Nouns that stand for one of many named things: "the actor" asks "which one?"."""
_NOT_A_THING = frozenset(
    [
        "from",
        "there",
        "here",
        "then",
        "about",
        "into",
        "information",
        "sounds",
        "seems",
        "looks",
        "mean",
        "makes",
        "works",
        "happens",
        "helps",
        "says",
        "depends",
        "goes",
        "gets",
        "later",
        "again",
        "also",
        "only",
        "all",
        "too",
        "first",
        "last",
        "next",
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


def unresolved_reference(message: str, earlier: str = "") -> str | None:
    """The thing a message points at without naming it ("this library" → "library").

    ``earlier`` is what the conversation said before: a thing it mentions is not
    unnamed ("this library" after "the Boston Public Library"). Besides "this X" and
    "the X's", "the X" counts for nouns that stand for one of many named things (an
    actor, a country); "the password", "the order" or "the device" do not (a support
    knowledge base's own nouns: its articles say which details to give).

    >>> unresolved_reference("What facilities does this library provide?")
    'library'
    >>> unresolved_reference("Do this ocean currents matter?")
    'ocean'
    >>> unresolved_reference("How did the actor's training change?")
    'actor'
    >>> unresolved_reference("Which awards did the actor win?")
    'actor'
    >>> unresolved_reference("How do I reset the password?") is None
    True
    >>> unresolved_reference("Is this the right page?") is None
    True
    >>> unresolved_reference("Is this library open?", "I love the Boston Public Library") is None
    True
    """
    candidates = [
        m.group(1).lower()
        for m in _DEMONSTRATIVE.finditer(message)
        if m.group(1).lower() not in _NOT_A_THING
    ]
    candidates += [m.group(1).lower() for m in _POSSESSIVE.finditer(message)]
    candidates += [
        m.group(1).lower()
        for m in _DEFINITE.finditer(message)
        if m.group(1).lower() in _ONE_OF_MANY
    ]
    mentioned = set(_WORD.findall(earlier.lower()))
    for thing in candidates:
        if thing not in mentioned and _plural(thing) not in mentioned:
            return thing
    return None


def _plural(noun: str) -> str:
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + ("es" if noun.endswith(("s", "x", "ch", "sh")) else "s")


def clarifying_question(message: str, earlier: str = "") -> str | None:
    """Ask which one the customer means, when the message points at something unnamed.

    >>> clarifying_question("What awards has this actor received?")
    "Which actor do you mean? Tell me the name and I'll look it up."
    """
    thing = unresolved_reference(message, earlier)
    if thing is None:
        return None
    return f"Which {thing} do you mean? Tell me the name and I'll look it up."
