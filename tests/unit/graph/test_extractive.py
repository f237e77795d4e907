from graph.extractive import extractive_answer
from tools.knowledge_base.lexical import tokenize


def passage(doc_id, text, title="T", score=0.03):
    return {
        "doc_id": doc_id,
        "title": title,
        "source": doc_id,
        "text": text,
        "score": score,
        "dense": 0.6,
    }


REFUND = passage(
    "refunds/policy.md",
    "Refund Policy > Window\n\nWe accept returns of unused items. Refunds are issued within 30 "
    "days of delivery. Gift cards cannot be refunded. Our warehouse is in Ohio.",
    title="Refund Policy",
)
STEPS = passage(
    "accounts/reset.md",
    "Reset Your Password > Steps\n\nTo reset your password:\n1. Open the app.\n2. Tap Forgot "
    "password.\n3. Enter the code we email you.\n\nPasswords must have 12 characters.",
    title="Reset Your Password",
)


def test_picks_the_sentence_that_answers_and_cites_it():
    answer = extractive_answer("How many days do I have to get a refund?", [REFUND, STEPS])
    assert "within 30 days" in answer.text
    assert "Ohio" not in answer.text
    assert [c["doc_id"] for c in answer.citations] == ["refunds/policy.md"]
    assert "[1]" in answer.text and "- [1] Refund Policy" in answer.text
    assert "refunds/policy.md" not in answer.text  # customers never see file paths


def test_a_procedure_is_kept_whole_with_its_introduction():
    answer = extractive_answer("How do I reset my password?", [STEPS])
    for step in ("1. Open the app.", "2. Tap Forgot password.", "3. Enter the code"):
        assert step in answer.text
    assert "To reset your password:" in answer.text


def test_idf_weights_prefer_the_rare_term():
    weights = {t: (5.0 if t == "gift" else 0.1) for t in tokenize("refund gift card")}
    answer = extractive_answer("refund gift card", [REFUND], weights)
    assert "Gift cards cannot be refunded" in answer.text


def test_no_passages_gives_no_answer():
    answer = extractive_answer("anything", [])
    assert answer.text == "" and answer.citations == []


def test_heading_prefix_is_not_quoted_as_an_answer():
    answer = extractive_answer("refund window", [REFUND])
    assert "Refund Policy > Window" not in answer.text


def test_tables_are_quoted_and_a_table_only_passage_still_answers():
    table = passage(
        "pricing.csv",
        "Pricing\n\n| Plan | Price |\n|---|---|\n| Basic | $0 |\n| Pro | $9.99 |",
        title="Pricing",
    )
    answer = extractive_answer("How much is Pro?", [table])
    assert "| Pro | $9.99 |" in answer.text and answer.citations


def test_nothing_quotable_gives_no_answer():
    empty = passage("blank.md", "Blank\n\n## Only a heading\n---")
    assert extractive_answer("anything", [empty]).citations == []


def test_long_answers_are_cut_but_keep_every_citation_marker():
    long_text = "Intro\n\n" + " ".join(
        f"Refund rule {i} says refunds take time." for i in range(200)
    )
    answer = extractive_answer("refunds", [passage("long.md", long_text)])
    assert "[1]" in answer.text.split("Sources:")[0]
    assert len(answer.text) < 1700


def test_a_sentence_that_introduces_a_list_comes_with_it_or_not_at_all():
    names = passage(
        "names.md",
        "Names > Reserved\n\nThe service reserves the following names.\n\n- admin\n- root\n",
        title="Reserved names",
    )
    answer = extractive_answer("Which names does the service reserve?", [names])
    assert "- admin" in answer.text and "- root" in answer.text
    cut = passage("cut.md", "Names > Reserved\n\nThe service reserves the following names.")
    assert extractive_answer("Which names does the service reserve?", [cut]).citations == []


def test_html_anchors_markdown_escapes_and_repeats_never_reach_the_customer():
    messy = passage(
        "messy.md",
        'Limits > Size\n\n<a name="size"></a>Uploads are limited to 5 GB per \\_file\\_. '
        "Uploads are limited to 5 GB per \\_file\\_.",
        title="Upload \\_limits\\_ <a name='x'></a>",
    )
    answer = extractive_answer("What is the upload size limit per file?", [messy])
    assert "<a" not in answer.text and "\\_" not in answer.text
    assert answer.text.count("Uploads are limited to 5 GB") == 1
    assert "Upload _limits_" in answer.text


def test_a_how_to_question_gets_the_steps_not_the_side_notes():
    email = passage(
        "accounts/email.md",
        "Change your email > Steps\n\nYou can undo an email change within 24 hours with the "
        "link we send to your old address. Error A-409 means the address is already used.\n\n"
        "To change your email address:\n1. Open Settings > Account.\n2. Tap Email.\n"
        "3. Enter the new address and confirm the code.",
        title="Change your email address",
    )
    answer = extractive_answer("How do I change my email address?", [email])
    assert "1. Open Settings > Account." in answer.text and "3. Enter the new" in answer.text
    assert "A-409" not in answer.text


def test_a_second_source_only_when_it_adds_to_the_answer():
    same = passage("refunds/copy.md", REFUND["text"], title="Refund Policy (copy)")
    answer = extractive_answer("How many days do I have to get a refund?", [REFUND, same])
    assert [c["doc_id"] for c in answer.citations] == ["refunds/policy.md"]


RETURNS = passage(
    "refunds/how-to.md",
    "How to Request a Return\n\nYou can start a return yourself in a few minutes, within the "
    "30-day return window.\n\n## Returning a gift\nGift returns are refunded as store credit, "
    "and the person who bought it is not told.",
    title="How to Request a Return",
)


def test_a_can_i_question_gets_what_the_customer_may_do_not_the_story_words():
    """'bought' is the story; 'can I return it for a refund?' asks what is allowed."""
    question = "I bought a bulb two weeks ago and don't want it. Can I return it for a refund?"
    answer = extractive_answer(question, [RETURNS])
    assert "You can start a return yourself" in answer.text
    assert "Gift returns" not in answer.text


def test_a_question_about_the_customers_file_is_answered_from_files_only():
    file = passage(
        "attachment:1",
        "export.csv\n\n| name | values | | | |\n| export | item1 qty 3 |",
        title="export.csv",
    )
    article = passage(
        "shipping/customs.md",
        "Customs\n\nWhat is in my export is declared on the customs form for every export.",
        title="Customs",
    )
    answer = extractive_answer("What is in my export?", [file, article])
    assert [c["doc_id"] for c in answer.citations] == ["attachment:1"]
    assert "| | |" not in answer.text  # a one-line CSV's empty header cells are not quoted
