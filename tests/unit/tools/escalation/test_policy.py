import pytest

from state import EscalationPolicy
from tools.escalation.policy import escalation_reasons, priority

POLICY = EscalationPolicy()


def reasons(text, streak=0, will_abstain=False, policy=POLICY):
    return escalation_reasons(text, abstain_streak=streak, will_abstain=will_abstain, policy=policy)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Can I please speak to a real person?", "human_requested"),
        ("Transfer me to a human agent", "human_requested"),
        ("That didn't help at all.", "not_helpful"),
        ("There are charges on my card that I didn't make", "fraud"),
        ("My wallet was stolen yesterday", "fraud"),
        ("I think my account has been hacked", "security"),
        ("I'll be talking to my lawyer about this", "legal"),
        ("Close my account now, I'm done.", "account_closure"),
        ("I'm going to file a dispute with my bank", "chargeback"),
        ("The Lumora Hub started smoking and smells burnt", "safety"),
        ("This is ridiculous, third time I'm writing", "frustration"),
        ("WHY IS NOBODY ANSWERING MY QUESTION ABOUT THE ORDER", "frustration"),
    ],
)
def test_each_trigger_escalates_with_its_reason(text, code):
    assert code in reasons(text)


@pytest.mark.parametrize(
    "text",
    [
        "How do I request a refund?",
        "Can I get a refund for a damaged bulb?",
        "How do I close my account?",
        "Which account email do you use for invoices?",
        "What is a chargeback?",
        "Is my account secure with two-factor authentication?",
        "My camera shows offline, what should I do?",
        "Thanks, that helped!",
        "How long does shipping take to Canada?",
    ],
)
def test_ordinary_questions_do_not_escalate(text):
    assert reasons(text) == []


def test_repeated_failure_after_n_unanswered_turns():
    assert reasons("what about the thing", streak=1, will_abstain=True) == []
    assert reasons("what about the thing", streak=2, will_abstain=True) == ["repeated_failure"]
    assert reasons("what about the thing", streak=5, will_abstain=False) == []


def test_a_tenant_can_switch_reasons_off():
    strict = EscalationPolicy(enabled_reasons=["human_requested"])
    assert reasons("This is ridiculous!!!", policy=strict) == []
    assert reasons("Let me talk to a person", policy=strict) == ["human_requested"]


def test_priority_is_high_for_money_security_legal_and_safety():
    assert priority(["fraud"]) == "high"
    assert priority(["human_requested", "frustration"]) == "normal"
