"""Which questions point at something the conversation never named."""

from __future__ import annotations

import pytest

from graph.clarify import clarifying_question, unresolved_reference


@pytest.mark.parametrize(
    ("message", "thing"),
    [
        ("What all facilities does this library provide for the public?", "library"),
        ("What awards has the actor received for his performances?", "actor"),
        ("What sporting events are hosted in the country's stadium?", "country"),
        ("Does this Fast food chain restaurant operate in India?", "fast"),
        ("Is there a daily limit to hunt the animal in California?", "animal"),
        ("When did the singer release it?", "singer"),
    ],
)
def test_an_unnamed_thing_is_found(message, thing):
    assert unresolved_reference(message) == thing


@pytest.mark.parametrize(
    "message",
    [
        "How do I reset the password?",
        "Where is the order?",  # a support agent's own nouns: its articles ask for details
        "Does the device support Zigbee?",
        "How long does the refund take?",
        "Is this the right page?",
        "Can I change that later?",
        "What is the return window for the Lumora Bulb?",
        "That sounds hard. Which candy is best?",
        "Does this mean my computer is safe?",
        "Could you name the actor who played the detective?",
        "Can I get this from any store?",
    ],
)
def test_a_support_question_is_not_taken_for_one(message):
    assert unresolved_reference(message) is None


def test_a_thing_the_conversation_named_is_not_asked_about():
    earlier = "I'm visiting the Boston Public Library next week. It has great libraries."
    assert clarifying_question("What facilities does this library provide?", earlier) is None
    assert clarifying_question("When was the museum built?", earlier) == (
        "Which museum do you mean? Tell me the name and I'll look it up."
    )
