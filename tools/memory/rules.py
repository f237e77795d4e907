"""LLM-free memory extraction: deterministic rules for the facts support needs most.

Plan or tier, products (and versions), order / ticket numbers, preferred
language and contact channel, and problems the customer states. Each candidate
names a *slot*: a new statement about a single-valued slot (plan, language,
contact channel) supersedes the older one. Input must already be redacted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["SINGLE_VALUED_SLOTS", "MemoryCandidate", "extract_memories"]

SINGLE_VALUED_SLOTS = frozenset({"plan", "language", "contact_channel"})


@dataclass(frozen=True)
class MemoryCandidate:
    """Something worth remembering about the customer."""

    kind: str
    """``fact``, ``preference`` or ``issue``."""
    content: str
    slot: str | None = None
    importance: float = 0.5


_PLAN_WORD = r"([A-Z][\w+-]*|basic|plus|pro|premium|free|business|enterprise|family|gold|silver)"
_PLAN = [
    re.compile(
        rf"\b(?:i'?m|i am|we'?re|we are)\s+(?:now\s+|currently\s+|still\s+)?on\s+"
        rf"(?:the\s+|a\s+)?{_PLAN_WORD}\s+(?:plan|tier|subscription)\b",
        re.I,
    ),
    re.compile(
        rf"\b(?:upgraded|downgraded|switched|moved|changed)\s+(?:my\s+\w+\s+|us\s+)?"
        rf"(?:to|over to)\s+(?:the\s+)?{_PLAN_WORD}(?:\s+(?:plan|tier|subscription))?\b",
        re.I,
    ),
    re.compile(rf"\bmy\s+(?:plan|tier|subscription)\s+is\s+(?:the\s+)?{_PLAN_WORD}\b", re.I),
    re.compile(
        rf"\bi\s+(?:have|pay for)\s+(?:the\s+|a\s+)?{_PLAN_WORD}\s+(?:plan|subscription)\b", re.I
    ),
]
_PRODUCT = re.compile(
    r"\b(?i:my|i(?:'ve)? (?:also |just |recently )?(?:have|own|bought|use|got) (?:an?|the|my))\s+"
    r"((?:[A-Z][\w-]*)(?:\s+[A-Z][\w-]*){0,2})"
    r"((?i:\s+(?:credit |debit |savings |checking |business |joint |premium )?"
    r"(?:card|account|subscription|membership|loan|mortgage|policy)))?"
    r"(?:[^.?!]{0,40}?\b(?i:version|firmware|v)\s*(\d+(?:\.\d+)+))?"
)
_GIVING_UP = re.compile(
    r"\b(cancel|delete|close|remove|terminate|get rid of|shut down|stop)\w*\b[^.?!]{0,30}$", re.I
)
"""Words before a product that mean the customer is leaving it, not that they keep it."""
_APP_VERSION = re.compile(r"\b(app|firmware)\s+(?:version\s+)?v?(\d+(?:\.\d+)+)\b", re.I)
_ORDER = re.compile(
    r"\b(order|ticket|case|invoice|return)\s*(?:number|no\.?|#|id)?\s*[:#]?\s*"
    r"([A-Z]{1,4}-?\d{3,}|\d{5,})\b",
    re.I,
)
_LANGUAGES = (
    "English|Spanish|French|German|Italian|Portuguese|Dutch|Polish|Swedish|Japanese|"
    "Chinese|Korean|Arabic|Hindi|Turkish|Greek"
)
_LANGUAGE = re.compile(
    rf"\b(?:i (?:only |mostly )?speak|i prefer|(?:answer|reply|respond|write|talk)(?: to me)? in|"
    rf"my (?:preferred )?language is)\s+({_LANGUAGES})\b",
    re.I,
)
_CHANNEL = re.compile(
    r"\b(?:(?:contact|reach|call|text|email|message)\s+me\s+(?:by|via|on|at|through|over)|"
    r"i prefer(?: to be contacted by)?|best way to reach me is(?: by| via)?)\s+"
    r"(e-?mail|phone|sms|text(?: messages?)?|whatsapp|chat)\b",
    re.I,
)
_PROBLEM = re.compile(
    r"\b(not working|doesn'?t work|does not work|won'?t|can'?t|cannot|isn'?t|broken|error|"
    r"keeps|stopped|fails?|failed|offline|jammed|crash(?:es|ed|ing)?|problem|issue|wrong|"
    r"missing|late|never arrived|charged twice)\b",
    re.I,
)
_FIRST_PERSON = re.compile(r"\b(i|my|me|we|our)\b", re.I)
_SENTENCES = re.compile(r"(?<=[.!?])\s+")
_STOP_PRODUCTS = {"I", "Hi", "Hello", "Thanks", "Please", "The", "A", "An"}


def _canonical_plan(word: str) -> str:
    return word[:1].upper() + word[1:].lower() if word.islower() else word


def extract_memories(text: str) -> list[MemoryCandidate]:
    """Candidates from one (redacted) customer message, in order of appearance.

    >>> [c.content for c in extract_memories("I upgraded to Pro. My Lumora Cam is offline.")]
    ['On the Pro plan', 'Has a Lumora Cam', 'Problem: My Lumora Cam is offline.']
    >>> [c.content for c in extract_memories("I have the Gold Rewards credit card.")]
    ['Has a Gold Rewards credit card']
    >>> [c.content for c in extract_memories("What fees apply to my Blue account?")]
    ['Has a Blue account']
    >>> extract_memories("I want to delete my Blue account")
    []
    """
    found: list[MemoryCandidate] = []
    seen: set[str] = set()

    def add(candidate: MemoryCandidate) -> None:
        if candidate.content.lower() not in seen:
            seen.add(candidate.content.lower())
            found.append(candidate)

    for pattern in _PLAN:
        for match in pattern.finditer(text):
            add(
                MemoryCandidate(
                    "fact", f"On the {_canonical_plan(match.group(1))} plan", "plan", 0.8
                )
            )
    for match in _PRODUCT.finditer(text):
        name = match.group(1).strip()
        if name.split()[0] in _STOP_PRODUCTS or name.lower().endswith(("plan", "tier")):
            continue
        before = text[: match.start()].rsplit(".", 1)[-1]
        if _GIVING_UP.search(before):  # "delete my X account" says nothing they still have
            continue
        kind = (match.group(2) or "").strip().lower()
        product = f"{name} {kind}".strip()
        version = f" (version {match.group(3)})" if match.group(3) else ""
        add(MemoryCandidate("fact", f"Has a {product}{version}", "product", 0.6))
    for match in _APP_VERSION.finditer(text):
        add(
            MemoryCandidate(
                "fact", f"Uses {match.group(1).lower()} version {match.group(2)}", "version", 0.5
            )
        )
    for match in _ORDER.finditer(text):
        add(
            MemoryCandidate(
                "fact", f"{match.group(1).capitalize()} {match.group(2).upper()}", "order", 0.7
            )
        )
    for match in _LANGUAGE.finditer(text):
        add(
            MemoryCandidate("preference", f"Prefers {match.group(1).capitalize()}", "language", 0.7)
        )
    for match in _CHANNEL.finditer(text):
        channel = match.group(1).lower().replace("e-mail", "email")
        channel = "text message" if channel.startswith(("text", "sms")) else channel
        add(MemoryCandidate("preference", f"Prefers contact by {channel}", "contact_channel", 0.6))
    for sentence in _SENTENCES.split(text):
        sentence = sentence.strip()
        if (
            8 <= len(sentence) <= 240
            and _PROBLEM.search(sentence)
            and (_FIRST_PERSON.search(sentence))
            and not sentence.endswith("?")
        ):
            add(MemoryCandidate("issue", f"Problem: {sentence}", None, 0.5))
    return found
