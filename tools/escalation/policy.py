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

_STAFF = (
    r"(humans?|persons?|agents?|agnt|agrnt|representatives?|rep+s?|operators?|advis[eo]rs?|"
    r"executives?|managers?|supervisors?|staff|employees?|associates?)"
)
_PERSON = rf"({_STAFF[1:-1]}|someone|somebody|people)"
_ABOUT_PEOPLE = re.compile(
    r"\b(agen|agn|agr|human|person|people|someone|somebody|rep|operat|manag|supervis|staff|"
    r"execut|advis|assistan|employ|talk|speak|chat|call|contact|transfer|connect|live|real|"
    r"team|department|desk|service)\w*",
    re.I,
)
"""The semantic head's request for a person counts only in words that can name one."""
_NEGATED = re.compile(
    rf"\b(no need to|don'?t|do not|no,? i don'?t)\s+(need to\s+|want to\s+|have to\s+)?"
    rf"(transfer|connect|put)\b"
    rf"|\b(don'?t|do not) (need|want) (a|an|to (talk|speak) (to|with) (a|an))\s*{_PERSON}\b",
    re.I,
)
"""A customer saying no to a person ("no need to transfer me") is not asking for one."""

_RULES: dict[str, re.Pattern[str]] = {
    "human_requested": re.compile(
        rf"\b(speak|talk|chat|connect|transfer|put|get)\s+(me\s+)?(on\s+|back\s+)?"
        rf"(to|with|through to|onto)\s+(a|an|the|your|some|one of your)?\s*"
        rf"(real\s+|live\s+|actual\s+)?{_PERSON}\b"
        rf"|\b(human|live|real)\s+(agent|person|representative|support|being)\b"
        rf"|\b(need|want|get|give me)\s+(a|an|some|to speak to a|to talk to a)?\s*"
        rf"(real\s+|live\s+)?{_STAFF}\b"
        rf"|\b{_STAFF},?\s+please\b"
        rf"|\b(customer\s+service|customer\s+support|support|service)\s+{_STAFF}\W*$"
        rf"|^\W*(a\s+)?{_STAFF}\W*$",
        re.I,
    ),
    "not_helpful": re.compile(
        r"\b(that|you|your (answer|reply|solution|suggestion|steps?)|the answer)\s+"
        r"(didn'?t|did not|doesn'?t|does not|isn'?t|is not|wasn'?t|was not)\s+"
        r"(help|answer|solve|fix|work|useful|helpful)"
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
        r"waste of (my )?time|worst (service|company|support)|disgusting|pathetic|"
        r"(nobody|no one|no-one) (is )?(answering|responding|replying|helping|listening))\b",
        re.I,
    ),
}

REASON_CODES = (*_RULES, "complaint", "repeated_failure", "model_proposed")
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
    intents: Iterable[str] = (),
) -> list[str]:
    """Reason codes to escalate this turn for (empty: do not escalate).

    ``abstain_streak`` counts the turns before this one that ended without an answer;
    ``will_abstain`` says whether this one is about to; ``intents`` are what the
    semantic heads (``tools.escalation.intent``) detected in the message: they add to
    the rules. Frustration is judged by words, never by capital letters; a customer
    who says no to a transfer is not asking for one.

    >>> p = EscalationPolicy()
    >>> escalation_reasons("Can I talk to a real person?", abstain_streak=0,
    ...                    will_abstain=False, policy=p)
    ['human_requested']
    >>> escalation_reasons("How do I request a refund?", abstain_streak=0,
    ...                    will_abstain=False, policy=p)
    []
    >>> escalation_reasons("I want a rep", abstain_streak=0, will_abstain=False, policy=p)
    ['human_requested']
    >>> escalation_reasons("customer service repp", abstain_streak=0, will_abstain=False,
    ...                    policy=p)
    ['human_requested']
    >>> escalation_reasons("No need to transfer me, thanks", abstain_streak=0,
    ...                    will_abstain=False, policy=p, intents=["human_requested"])
    []
    >>> escalation_reasons("Oh, that's disappointing.", abstain_streak=0,
    ...                    will_abstain=False, policy=p, intents=["human_requested"])
    []
    >>> escalation_reasons("NEED YOUR BILLING DEPARTMENT EMAIL", abstain_streak=0,
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
    for intent in intents:
        if intent == "human_requested" and not _ABOUT_PEOPLE.search(text):
            continue  # "Oh, that's disappointing" is not a request for a person
        if intent not in reasons:
            reasons.append(intent)
    if _NEGATED.search(text):
        reasons = [r for r in reasons if r != "human_requested"]
    return [r for r in dict.fromkeys(reasons) if r in policy.enabled_reasons]


def priority(reasons: Iterable[str]) -> str:
    """``high`` for money, security, legal and safety matters; ``normal`` otherwise."""
    return "high" if _HIGH_PRIORITY & set(reasons) else "normal"
