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


def test_the_subject_named_by_the_assistant_carries_into_the_follow_up():
    turns = [
        ("user", "a cheap barbecue place please"),
        ("assistant", "ok let me see, i found one called smokin warehouse"),
        ("user", "is that good for groups"),
    ]
    query = form_query(turns, RARITY)
    assert query == "smokin warehouse is that good for groups"  # only the subject travels


def test_a_follow_up_naming_another_place_is_searched_alone():
    turns = [
        ("assistant", "i found one called smokin warehouse"),
        ("user", "and is there parking at the lovely inn"),
    ]
    assert form_query(turns, RARITY) == "and is there parking at the lovely inn"


def test_conversation_words_are_never_a_subject():
    rare = {"ok": 0.95, "sure": 0.95, "smokin": 0.9}.get
    turns = [("assistant", "ok sure, it's called smokin"), ("user", "do they deliver")]
    assert form_query(turns, rare) == "smokin do they deliver"


def test_this_agents_answer_names_its_subject_by_the_articles_it_cites():
    answer = (
        "Here is what our help centre says in “Byzantine Empire”:\n\nIn 1453 the Ottoman "
        "Turks took Constantinople. [1]\n\nSources:\n\n- [1] Byzantine Empire: https://x.io/b"
    )
    query = form_query(
        [("user", "tell me about Byzantium"), ("assistant", answer), ("user", "why did it fall?")]
    )
    assert query == "Byzantine Empire why did it fall?"
