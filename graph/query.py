"""Forming the search query from the conversation, not only the last message.

A follow-up ("are the beds comfortable?", "how long does it take?") names no subject;
the message before it does. A follow-up (a pronoun, a few words, or only words the
knowledge base's titles use) is searched together with what it leans on: the customer's
previous words as they are, a recorded agent's short turn by its content words ("ok let
me see... it's called the Smokin Warehouse" without "ok let me see"), and, after this
agent's own answer or a recorded agent's long answer, the customer's previous question
rather than the answer (which may have quoted the wrong article). A message that names
a thing itself (a proper noun, a number: "What is the capital of France?") is searched
alone, so a change of subject is not dragged back.

Measured on DSTC10 (entities named by the agent) and MTRAG's gold standalone rewrites
against plain previous + last concatenation: see the README's evaluation section. In
LLM mode the model writes a standalone query first (``graph/rewrite.py``); this is its
fallback.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Literal

from tools.knowledge_base import tokenize
from tools.knowledge_base.focus import asking_sentences

__all__ = [
    "Rarity",
    "Turn",
    "asking_sentences",
    "form_query",
    "is_follow_up",
    "names_a_thing",
    "subject_words",
]

Turn = tuple[Literal["user", "assistant"], str]
Rarity = Callable[[str], float]
"""0..1 for a stemmed term: 1 for the knowledge base's rarest words, 0 for unknown ones."""

_ANAPHORA = re.compile(
    r"\b(it|its|it's|that|that's|this|these|those|they|them|their|there|same|else|"
    r"instead|one|ones|here|what about|how about|and if)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[A-Za-z][\w'’&-]*|\d[\w-]*")
_SENTENCE_START = re.compile(r"(^|[.!?]\s+|\n)\s*$")
_SHORT_FOLLOW_UP_WORDS = 4
_LONG_MESSAGE_WORDS = 40
_SUBJECT_RARITY = 0.6
"""Rarity from which a word names a subject: an entity's name is in a handful of chunks."""
_MAX_SUBJECT_WORDS = 6
_CAPITALISED_COMMON = frozenset(
    [
        "I",
        "I'm",
        "I've",
        "I'd",
        "Hi",
        "Hello",
        "Hey",
        "Thanks",
        "Thank",
        "Please",
        "Ok",
        "Okay",
        "Yes",
        "No",
        "Sorry",
        "Sure",
        "Great",
        "Mr",
        "Mrs",
        "Ms",
        "Dr",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ]
)


_CONVERSATIONAL = frozenset(
    tokenize(
        "ok okay sure see look let find found called named showing show something "
        "different right great good thanks thank yes yeah well able pull one two three "
        "four five six seven eight nine ten location place option options how what when "
        "where why which who whom do does did can could would should will please hi hello "
        "me my mine i you your tell know"
    )
)
"""Words of the conversation itself, never a subject ("let me see… it's called X")."""


def _is_proper(text: str, match: re.Match[str]) -> bool:
    word = match.group()
    if not word[0].isupper() or word in _CAPITALISED_COMMON:
        return False
    return not _SENTENCE_START.search(text[: match.start()]) or (word.isupper() and len(word) > 1)


def subject_words(text: str, rarity: Rarity | None, *, numbers: bool = True) -> list[str]:
    """The words of ``text`` that name what it is about, in order, at most six.

    >>> subject_words("My order 4411 from Acme never arrived", None)
    ['4411', 'Acme']
    >>> subject_words("is there parking at the smokin warehouse?", {"smokin": 0.9}.get)
    ['smokin']
    """
    found: dict[str, tuple[str, float]] = {}  # lower-cased word -> (word, score)
    for match in _WORD.finditer(text):
        word = match.group()
        stems = [t for t in tokenize(word) if t not in _CONVERSATIONAL]
        score = max((rarity(s) or 0.0 for s in stems), default=0.0) if rarity else 0.0
        if word[0].isdigit():
            score = 1.0 if numbers and len(word) >= 3 else 0.0  # an order number, a model
        elif _is_proper(text, match) and stems:
            score = max(score, _SUBJECT_RARITY)
        if score >= _SUBJECT_RARITY and word.lower() not in found:
            found[word.lower()] = (word, score)
    best = set(sorted(found, key=lambda w: -found[w][1])[:_MAX_SUBJECT_WORDS])
    return [word for key, (word, _) in found.items() if key in best]


def names_a_thing(message: str) -> bool:
    """Whether ``message`` names something itself: a proper noun or a number.

    >>> names_a_thing("What is the capital of France?"), names_a_thing("how long does it take")
    (True, False)
    """
    return bool(subject_words(message, None))


def is_follow_up(message: str, rarity: Rarity | None) -> bool:
    """Whether ``message`` leans on an earlier one for its subject.

    Not when it names a thing itself (a proper noun, a number) or is long; yes when it
    points back (a pronoun), is a few words, or only uses words the knowledge base's
    titles use (a question about an aspect: "is breakfast included").

    >>> is_follow_up("How long does it take?", None)
    True
    >>> is_follow_up("What is the capital of France?", None)
    False
    """
    words = message.split()
    if names_a_thing(message) or len(words) >= _LONG_MESSAGE_WORDS:
        return False
    if len(words) <= _SHORT_FOLLOW_UP_WORDS or _ANAPHORA.search(message):
        return True
    if rarity is None:
        return False
    terms = tokenize(message)
    return bool(terms) and all((rarity(t) or 0.0) > 0 for t in terms)


_OUR_OPENINGS = ("Here is what our help centre", "Here is what your file", "I'm sorry, I ")
_MAX_CONTEXT_WORDS = 40
_MAX_CONTEXT_CHARS = 300
_NAMING_TURN_WORDS = 40
"""A recorded agent's turn this short names what it found; a longer one is an answer."""


def _content_words(text: str) -> str:
    """``text`` without stopwords and the conversation's own words ("ok let me see")."""
    kept = [
        word
        for word in _WORD.findall(text)
        if (stems := tokenize(word)) and not set(stems) & _CONVERSATIONAL
    ]
    return " ".join(kept[-_MAX_CONTEXT_WORDS:])


def _is_this_agents(text: str) -> bool:
    return "Sources:" in text or text.startswith(_OUR_OPENINGS)


def _context(earlier: Sequence[Turn]) -> str:
    """What a follow-up leans on: the message before it.

    The customer's own words as they are; a recorded agent's short turn by its content
    words (its "ok let me see what I can find" would steer the search).

    This agent's own answer is not searched again (it may have quoted the wrong article,
    and its titles would pull the search back to it): the customer's previous question
    is, the sentence that asked ("Can I return it for a refund?"), not the story around
    it. So is a recorded agent's long answer; its short turn that names a place ("it's
    called the Smokin Warehouse") is searched.
    """
    role, text = earlier[-1]
    if role == "user":
        return text[-_MAX_CONTEXT_CHARS:]
    if not _is_this_agents(text) and len(text.split()) <= _NAMING_TURN_WORDS:
        return _content_words(text)
    customer = next((t for r, t in reversed(earlier) if r == "user"), "")
    return asking_sentences(customer)[-_MAX_CONTEXT_CHARS:]


def form_query(turns: Sequence[Turn | str], rarity: Rarity | None = None) -> str:
    """The query for the last of ``turns`` (oldest first; a bare string is the customer's).

    ``rarity`` (``KnowledgeBase.rarity``) tells which words the knowledge base uses; a
    follow-up gets the content words of the message before it.

    >>> form_query(["How do I request a refund?", "How long does it take?"])
    'How do I request a refund? How long does it take?'
    >>> form_query(["How do I request a refund?", "What is the capital of France?"])
    'What is the capital of France?'
    >>> form_query([("user", "a cheap place to eat"),
    ...             ("assistant", "ok let me see, it's called Smokin Warehouse."),
    ...             ("user", "is it good for groups?")])
    'Smokin Warehouse is it good for groups?'
    """
    history: list[Turn] = [t if isinstance(t, tuple) else ("user", t) for t in turns]
    history = [(role, text.strip()) for role, text in history if text.strip()]
    if not history:
        return ""
    current = history[-1][1]
    earlier = history[:-1]
    if not earlier or not is_follow_up(current, rarity):
        return current
    context = _context(earlier)
    return f"{context} {current}" if context else current
