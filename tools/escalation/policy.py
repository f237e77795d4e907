"""When to hand the conversation to a human: pure rules, each with a reason code.

Code decides, from the customer's words and the conversation so far; the model can
propose, never bypass. Rules look for intent, not topic words: "how do I close my
account?" is a question the help centre answers, "close my account now, I'm done"
is not; "refund" alone never escalates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from state import EscalationPolicy

__all__ = ["REASON_CODES", "escalation_reasons"]

_RULES: dict[str, re.Pattern[str]] = {
    "human_requested": re.compile(
        r"\b(speak|talk|chat|connect|transfer|put)\s+(me\s+)?(to|with|through to)\s+"
        r"(a|an|the|your|some|real)?\s*(real\s+|live\s+)?"
        r"(human|person|agent|representative|someone|people|manager|supervisor|staff)\b"
        r"|\b(human|live|real)\s+(agent|person|representative|support|being)\b"
        r"|\b(need|want|get)\s+(a|an|some)\s+(real\s+)?(person|human|representative)\b"
        r"|\b(representative|operator|agent),?\s+please\b",
        re.I,
    ),
    "not_helpful": re.compile(
        r"\b(that|this|it|you|your answer)\s+(didn'?t|did not|doesn'?t|does not|isn'?t|is not|"
        r"wasn'?t|was not)\s+(help|work|answer|solve|fix|useful|helpful)"
        r"|\b(not|un)helpful\b|\buseless\b|\bstill (doesn'?t|not) work",
        re.I,
    ),
    "fraud": re.compile(
        r"\b(fraud\w*|scam(med)?|stolen (card|identity)|identity theft|"
        r"unauthori[sz]ed\s+(charge|transaction|payment|purchase|transfer)s?|"
        r"(card|wallet|identity|phone) (was |has been |got )?stolen|"
        r"(charges?|transactions?|payments?|purchases?)\b[^.?!]{0,40}\bi (didn'?t|did not|never) "
        r"(make|made|authori[sz]e|buy|bought))\b",
        re.I,
    ),
    "security": re.compile(
        r"\b(i('ve| have| was| got)? (been )?hacked|account (was |is |has been )?(hacked|"
        r"compromised|taken over)|someone (else )?(logged|got) into my|data breach)\b",
        re.I,
    ),
    "legal": re.compile(
        r"\b(lawyer|attorney|solicitor|sue|suing|lawsuit|legal action|small claims|"
        r"take (you|this) to court|ombudsman|regulator)\b",
        re.I,
    ),
    "account_closure": re.compile(
        r"\b(close|shut|terminate)\s+(down\s+)?(my|all my|our)\s+(\w+\s+)?accounts?\b",
        re.I,
    ),
    "chargeback": re.compile(
        r"\b(charge\s?back|dispute (the|a|this|that) (charge|transaction|payment)|"
        r"file a dispute|reverse the charge)\b",
        re.I,
    ),
    "safety": re.compile(
        r"\b(caught fire|on fire|smok(e|ing)|burn(ing|t|ed)|electric(al)? shock|shocked me|"
        r"overheat\w*|melt(ed|ing)|sparks?|injur\w*|explod\w*)\b",
        re.I,
    ),
    "frustration": re.compile(
        r"!{3,}|\b(ridiculous|unacceptable|furious|outrageous|fed up|sick of|"
        r"waste of (my )?time|worst (service|company|support)|disgusting|pathetic)\b",
        re.I,
    ),
}

REASON_CODES = (*_RULES, "repeated_failure", "model_proposed")
"""Every reason a conversation can be escalated for."""

_HOW_TO = re.compile(r"(what|how|where|when|can|could|is|are|do|does|will|why)\b", re.I)
_ANSWERABLE_AS_QUESTIONS = {"account_closure", "chargeback"}
""""How do I close my account?" is for the help centre; "close my account" is for a human."""
_HIGH_PRIORITY = {"fraud", "security", "legal", "safety", "chargeback"}


def escalation_reasons(
    text: str,
    *,
    abstain_streak: int,
    will_abstain: bool,
    policy: EscalationPolicy,
    proposed: Iterable[str] = (),
) -> list[str]:
    """Reason codes to escalate this turn for (empty: do not escalate).

    ``abstain_streak`` counts the turns before this one that ended without an answer;
    ``will_abstain`` says whether this one is about to.

    >>> p = EscalationPolicy()
    >>> escalation_reasons("Can I talk to a real person?", abstain_streak=0,
    ...                    will_abstain=False, policy=p)
    ['human_requested']
    >>> escalation_reasons("How do I request a refund?", abstain_streak=0,
    ...                    will_abstain=False, policy=p)
    []
    """
    informational = bool(_HOW_TO.match(text.strip())) and text.strip().endswith("?")
    reasons = [
        code
        for code, rule in _RULES.items()
        if rule.search(text) and not (informational and code in _ANSWERABLE_AS_QUESTIONS)
    ]
    if will_abstain and abstain_streak + 1 >= policy.abstentions_before_escalation:
        reasons.append("repeated_failure")
    reasons.extend(code for code in proposed if code not in reasons)
    if len(text) > 40 and sum(c.isupper() for c in text) > 0.6 * sum(c.isalpha() for c in text):
        reasons.append("frustration")  # shouting
    return [r for r in dict.fromkeys(reasons) if r in policy.enabled_reasons]


def priority(reasons: Iterable[str]) -> str:
    """``high`` for money, security, legal and safety matters; ``normal`` otherwise."""
    return "high" if _HIGH_PRIORITY & set(reasons) else "normal"
