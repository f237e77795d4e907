from graph.query import form_query


def test_follow_up_with_pronoun_carries_the_previous_message():
    query = form_query(["How do I request a refund for my thermostat?", "How long does it take?"])
    assert "thermostat" in query and "How long" in query


def test_very_short_follow_up_carries_context():
    assert "Lumora Lock" in form_query(["My Lumora Lock is jammed", "And the battery?"])


def test_new_self_contained_topic_stands_alone():
    assert form_query(["How do I request a refund?", "Which payment methods do you accept?"]) == (
        "Which payment methods do you accept?"
    )


def test_first_message_and_empty_conversation():
    assert form_query(["Hello there"]) == "Hello there"
    assert form_query([]) == ""
