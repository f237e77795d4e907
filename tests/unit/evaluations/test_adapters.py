"""Adapters from the shared datasets to evaluation cases (skip outside CI without the data)."""

import json

import pytest

from evaluations.adapters import (
    DataMissingError,
    banking77_cases,
    clinc150_cases,
    dstc10_cases,
    mtrag_cases,
    mtrag_rewrite_cases,
    tau2_cases,
    tau2_kb,
    write_dstc10_kb,
    write_kb,
    write_mtrag_kb,
)
from evaluations.dataset import load_dataset, split_history, write_dataset
from tools.knowledge_base.loaders import SourceDocument, iter_documents


def _kb_records(path):
    """The KB file as the knowledge base's own loader reads it (every record must load)."""
    docs = list(iter_documents(path))
    assert all(isinstance(d, SourceDocument) for d in docs), docs[:3]
    return {d.doc_id: d for d in docs}


def test_tau2_gold_documents_and_transfer_labels(shared_data):
    cases = tau2_cases(shared_data)
    assert len(cases) == 97
    assert sum(c.expected_outcome == "escalated" for c in cases) == 13
    assert {c.expected_outcome for c in cases} == {"escalated", "answered"}
    documents = {p.stem for p in tau2_kb(shared_data).glob("*.json")}
    for case in cases:
        assert case.expected_doc_ids and set(case.expected_doc_ids) <= documents, case.id
        assert len(case.threads) == 1 and len(case.threads[0]) == 1
    task = json.loads(
        (shared_data / "tau2_banking_knowledge" / "tasks" / f"{cases[0].id}.json").read_text()
    )
    assert cases[0].final_message.text == task["user_scenario"]["instructions"]
    dialogue = tau2_cases(shared_data, "dialogue")
    assert [c.id for c in dialogue] == [c.id for c in cases]
    assert sum(len(c.threads[0]) > 1 for c in dialogue) > 80


def test_clinc150_mixes_in_scope_and_out_of_scope(shared_data, tmp_path):
    cases, kb = clinc150_cases(shared_data, in_scope=40, out_of_scope=30, seed=3)
    answered = [c for c in cases if c.expected_outcome == "answered"]
    oos = [c for c in cases if c.expected_outcome == "abstained"]
    assert len(answered) == 40 and len(oos) == 30
    assert all(c.expected_doc_ids is None for c in oos)
    assert len(kb.records) == 1500  # 150 intents x 10 training questions
    ids = {rid for rid, _ in kb.records}
    for case in answered:
        assert len(case.expected_doc_ids) == 10 and set(case.expected_doc_ids) <= ids
        assert case.metadata["intent"] == case.expected_doc_ids[0].rpartition("--")[0]
    kb_path = write_kb(tmp_path / "kb.jsonl", kb)
    first = json.loads(kb_path.read_text().splitlines()[0])
    assert first["title"] == "" and first["content"].startswith("# ")  # no intent-name leak
    write_dataset(tmp_path / "clinc.jsonl", cases)
    assert load_dataset(tmp_path / "clinc.jsonl").cases == cases
    again, _ = clinc150_cases(shared_data, in_scope=40, out_of_scope=30, seed=3)
    assert again == cases  # seeded


def test_banking77_is_all_in_scope(shared_data):
    cases, kb = banking77_cases(shared_data, sample=25)
    assert len(cases) == 25 and {c.expected_outcome for c in cases} == {"answered"}
    assert len(kb.records) == 77 * 20


def test_dstc10_knowledge_seeking_turns_as_transcripts(shared_data, tmp_path):
    cases = dstc10_cases(shared_data)
    assert len(cases) == 104 and {c.expected_outcome for c in cases} == {"answered"}
    kb = _kb_records(write_dstc10_kb(shared_data, tmp_path / "kb.jsonl"))
    assert len(kb) == 12039
    first = cases[0]
    assert first.expected_doc_ids == ("hotel-110053-14",)
    gold = kb["hotel-110053-14"]
    assert gold.title == "Grant Hotel: What time is check-in at the Grant Hotel?"
    assert gold.content == "The Grant Hotel check-in time starts at 3:00 PM."
    assert kb["taxi-all-1"].title.startswith("Taxi: ")  # domain-wide knowledge
    for case in cases:
        assert set(case.expected_doc_ids) <= kb.keys(), case.id
        history, run = split_history(case.threads[0])
        assert history and history[-1].role == "assistant" and run[0].role == "user"
        assert case.reference_answer and case.metadata["source"] == "dstc10"
    named = [c.metadata["entity_named_by"] for c in cases]
    assert set(named) <= {"user", "assistant", "none"} and named.count("assistant") > 50
    assert first.metadata["entity_named_by"] == "user"  # "is the grant hotel pretty close"
    write_dataset(tmp_path / "dstc10.jsonl", cases)
    assert load_dataset(tmp_path / "dstc10.jsonl").cases == cases


def test_mtrag_answerability_gold_passages_and_kb(shared_data, tmp_path):
    cases = mtrag_cases(shared_data)
    assert len(cases) == 507 and len({c.id for c in cases}) == 507
    by_label: dict[str, list] = {}
    for case in cases:
        by_label.setdefault(case.metadata["answerability"], []).append(case)
    counts = {k: len(v) for k, v in by_label.items()}
    assert counts == {"answerable": 285, "unanswerable": 97, "underspecified": 78, "partial": 47}
    for label, outcome in (
        ("answerable", "answered"),
        ("partial", "answered"),
        ("unanswerable", "abstained"),
        ("underspecified", "abstained"),
    ):
        assert {c.expected_outcome for c in by_label[label]} == {outcome}
    assert all(c.expected_doc_ids for c in by_label["answerable"] + by_label["partial"])
    assert not any(c.expected_doc_ids for c in by_label["unanswerable"])
    assert all(c.reference_answer and c.final_message.role == "user" for c in cases)
    kb = _kb_records(write_mtrag_kb(shared_data, tmp_path / "kb.jsonl"))
    assert len(kb) == 1152  # the distinct gold passages of every task
    assert all(set(c.expected_doc_ids or ()) <= kb.keys() for c in cases)
    assert all(d.title for d in kb.values())  # FiQA passages have none: first words
    multi = [c for c in cases if len(c.threads[0]) > 1]
    assert multi and all(c.threads[0][1].role == "assistant" for c in multi)
    write_dataset(tmp_path / "mtrag.jsonl", cases)
    loaded = load_dataset(tmp_path / "mtrag.jsonl")
    assert loaded.cases == cases and not loaded.errors


def test_mtrag_rewrite_cases_are_follow_ups_with_gold_rewrites(shared_data):
    cases = mtrag_rewrite_cases(shared_data)
    assert len(cases) == 675  # of 777 questions, those after the first turn
    assert len({c.id for c in cases}) == 675
    assert {c.metadata["collection"] for c in cases} == {"clapnq", "cloud", "fiqa", "govt"}
    for case in cases:
        assert len(case.threads[0]) > 1 and case.expected_outcome is None
        assert {m.role for m in case.threads[0]} == {"user"}
        assert case.metadata["rewrite"] and not case.metadata["rewrite"].startswith("|user|")
    first = next(c for c in cases if c.id.endswith("dd6b6ffd177f2b311abe676261279d2f-2"))
    assert [m.text for m in first.threads[0]] == [
        "where do the arizona cardinals play this week",
        "Do the Arizona Cardinals play outside the US?",
    ]


def test_missing_data_says_what_is_missing(tmp_path):
    with pytest.raises(DataMissingError, match="tau2_banking_knowledge"):
        tau2_cases(tmp_path)
    with pytest.raises(DataMissingError, match="dstc10_track2"):
        dstc10_cases(tmp_path)
    with pytest.raises(DataMissingError, match="mtrag"):
        mtrag_cases(tmp_path)
    with pytest.raises(DataMissingError, match="retrieval_tasks"):
        mtrag_rewrite_cases(tmp_path)
