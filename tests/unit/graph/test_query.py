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


RARITY = {"smokin": 0.9, "warehous": 0.9, "love": 0.9, "inn": 0.7, "group": 0.3, "park": 0.3}.get


def test_what_the_assistant_named_carries_into_the_follow_up():
    turns = [
        ("user", "a cheap barbecue place please"),
        ("assistant", "ok let me see, i found one called smokin warehouse"),
        ("user", "is that good for groups"),
    ]
    query = form_query(turns, RARITY)
    assert query == "smokin warehouse is that good for groups"  # not "ok let me see"


def test_a_follow_up_naming_another_place_is_searched_alone():
    turns = [
        ("assistant", "i found one called Smokin Warehouse"),
        ("user", "and is there parking at the Lovely Inn"),
    ]
    assert form_query(turns, RARITY) == "and is there parking at the Lovely Inn"


def test_this_agents_answer_is_not_searched_again_the_customers_question_is():
    answer = (
        "Here is what our help centre says in “Damaged Items”:\n\nFor items under $30, such "
        "as a Lumora Bulb, we don't need it back. [1]\n\nSources:\n\n- [1] Damaged Items"
    )
    query = form_query(
        [
            ("user", "I bought a Lumora Bulb last week. Can I return it for a refund?"),
            ("assistant", answer),
            ("user", "How long does it take to reach my card?"),
        ]
    )
    assert query == "Can I return it for a refund? How long does it take to reach my card?"
