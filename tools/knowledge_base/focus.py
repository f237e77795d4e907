"""What a message asks, apart from the story around it.

"I bought a Lumora Bulb two weeks ago and don't want it any more. Can I return it for a
refund?": the story names the product, the question names the need. Embedded whole,
the product's words dominate and the one article that mentions the bulb in passing
("Damaged, Defective or Wrong Items") outranks the refund articles. The search ranks
chunks by their similarity to the message *plus* their similarity to its asking
sentences, so the question weighs as much as the whole message (see ``HybridSearch``).
"""

from __future__ import annotations

import re

__all__ = ["MAX_WORDS", "asking_part", "asking_sentences"]

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
MAX_WORDS = 80
"""Longer than a chat message: its questions are not what it is about."""


def asking_sentences(message: str) -> str:
    """The sentences of ``message`` that ask (all of it when none ends with "?").

    >>> asking_sentences("I bought a bulb last week. Can I return it?")
    'Can I return it?'
    >>> asking_sentences("My lamp arrived broken.")
    'My lamp arrived broken.'
    """
    asking = [s for s in _SENTENCE_END.split(message.strip()) if s.rstrip().endswith("?")]
    return " ".join(asking) or message.strip()


def asking_part(message: str) -> str | None:
    """The asking sentences when a chat message also tells a story, else None.

    None for a message that is one sentence, or only questions, or no question at all:
    then the message itself is what is asked. None too for a text longer than a chat
    message (``MAX_WORDS``): in a page-long description the questions are a few lines
    among many (tau2's scripts: "Really?"), and the whole text is the better query.

    >>> asking_part("I bought a bulb last week. Can I return it?")
    'Can I return it?'
    >>> asking_part("Can I return it? How long does it take?") is None
    True
    >>> asking_part("How do I reset my password?") is None
    True
    """
    words = message.split()
    if len(words) > MAX_WORDS:
        return None
    asking = asking_sentences(message)
    return asking if asking.split() != words else None
