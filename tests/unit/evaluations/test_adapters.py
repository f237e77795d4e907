"""Adapters from the shared datasets to evaluation cases (skip outside CI without the data)."""

import json

import pytest

from evaluations.adapters import (
    DataMissingError,
    banking77_cases,
    clinc150_cases,
    tau2_cases,
    tau2_kb,
    write_kb,
)
from evaluations.dataset import load_dataset, write_dataset


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


def test_missing_data_says_what_is_missing(tmp_path):
    with pytest.raises(DataMissingError, match="tau2_banking_knowledge"):
        tau2_cases(tmp_path)
