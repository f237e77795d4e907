"""Which attachment passages join a turn, and when they ground an answer."""

from __future__ import annotations

from graph.attachment_turn import acknowledge, merge_passages, refers_to_attachment
from tools.attachments.store import AttachmentRef


def _p(doc_id: str, dense: float) -> dict:
    return {
        "doc_id": doc_id,
        "title": doc_id,
        "source": doc_id,
        "text": "",
        "score": dense,
        "dense": dense,
    }


KB = [_p("kb/a.md", 0.55), _p("kb/b.md", 0.40)]


def test_a_file_the_customer_refers_to_leads_and_grounds_the_answer():
    passages, counted = merge_passages(KB, [_p("attachment:1", 0.12)], threshold=0.2, refers=True)
    assert [p["doc_id"] for p in passages] == ["attachment:1", "kb/a.md", "kb/b.md"]
    assert counted == 1


def test_an_unrelated_file_stays_out_of_an_unrelated_question():
    passages, counted = merge_passages(KB, [_p("attachment:1", 0.05)], threshold=0.2, refers=False)
    assert passages == KB and counted == 0


def test_a_file_joins_unprompted_only_when_it_beats_every_article():
    weaker, counted = merge_passages(KB, [_p("attachment:1", 0.5)], threshold=0.2, refers=False)
    assert weaker == KB and counted == 0
    stronger, counted = merge_passages(KB, [_p("attachment:1", 0.7)], threshold=0.2, refers=False)
    assert stronger[0]["doc_id"] == "attachment:1" and counted == 1


def test_even_a_file_the_customer_points_at_must_share_something_with_the_question():
    passages, counted = merge_passages(KB, [_p("attachment:1", 0.02)], threshold=0.2, refers=True)
    assert passages == KB and counted == 0


def test_references_to_files_are_recognised():
    assert refers_to_attachment("the total on the attached invoice is wrong")
    assert refers_to_attachment("see the screenshot")
    assert not refers_to_attachment("How do I change my delivery address?")


def test_a_files_only_message_is_acknowledged_with_what_was_refused():
    ok = AttachmentRef(1, "invoice.pdf", "pdf", "converted", 100)
    text = acknowledge([ok], ["I couldn't read “x.exe”: it is a binary."])
    assert text.startswith("I've received “invoice.pdf”.")
    assert "x.exe" in text and text.endswith("What would you like to know about it?")
    refused = acknowledge([], ["I couldn't read “x.exe”: it is a binary."])
    assert "another format" in refused
