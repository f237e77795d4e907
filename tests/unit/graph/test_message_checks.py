from graph.message_checks import check_message


def test_plain_question_passes_cleaned():
    result = check_message("  How do I reset my password?\u200b ", 1000)
    assert result.rejection is None
    assert result.text == "How do I reset my password?"


def test_empty_and_whitespace_are_rejected_with_a_question_back():
    for content in ("", "   \n\t", []):
        result = check_message(content, 1000)
        assert result.rejection == "empty"
        assert "help" in (result.reply or "")


def test_oversized_message_is_refused_and_not_stored_whole():
    result = check_message("x" * 50_000, 8000)
    assert result.rejection == "too_long"
    assert "8,000" in (result.reply or "")
    assert result.placeholder is not None and len(result.placeholder) < 400


def test_binary_input_is_refused():
    result = check_message("\x00\x01\x02PK\x03\x04" + "\x05" * 30, 1000)
    assert result.rejection == "binary"
    assert result.placeholder and "binary" in result.placeholder


def test_stray_control_characters_are_removed_not_rejected():
    result = check_message("Where is\x07 my order #123?\x1b", 1000)
    assert result.rejection is None
    assert result.text == "Where is my order #123?"


def test_content_blocks_are_read_and_attachments_alone_are_explained():
    ok = check_message([{"type": "text", "text": "Refund please"}, {"type": "image"}], 1000)
    assert ok.text == "Refund please"
    only_file = check_message([{"type": "file", "base64": "AAAA"}], 1000)
    assert only_file.rejection == "unsupported_content"


def test_lone_surrogates_do_not_crash():
    result = check_message("refund \ud800 please", 1000)
    assert result.rejection is None
    assert "refund" in result.text
