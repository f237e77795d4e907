"""The dataset loader: valid cases load, each bad line is reported with its number."""

import json

import pytest

from evaluations.adapters import faq_split, goal_sentence, utterances
from evaluations.dataset import (
    Case,
    Message,
    load_dataset,
    parse_case,
    split_history,
    write_dataset,
)


def test_loader_reports_bad_lines_and_loads_the_rest(tmp_path):
    (tmp_path / "a.pdf").write_bytes(b"%PDF-1.4")
    lines = [
        json.dumps({"id": "ok-1", "messages": ["hello"], "expected_outcome": "answered"}),
        "{not json",
        json.dumps({"messages": ["no id"]}),
        json.dumps({"id": "bad-outcome", "messages": ["x"], "expected_outcome": "maybe"}),
        "",
        json.dumps({"id": "ok-1", "messages": ["duplicate"]}),
        json.dumps({"id": "both", "messages": ["x"], "threads": [["y"]]}),
        json.dumps({"id": "typo", "messages": ["x"], "expected_docs": ["a"]}),
        json.dumps({"id": "empty", "messages": []}),
        json.dumps(
            {"id": "missing-file", "messages": [{"text": "see", "attachments": ["nope.pdf"]}]}
        ),
        json.dumps({"id": "docs", "messages": ["x"], "expected_doc_ids": "a"}),
        json.dumps(["a", "list"]),
        json.dumps(
            {
                "id": "ok-2",
                "threads": [["I'm on the Pro plan."], [{"text": "see", "attachments": ["a.pdf"]}]],
                "expected_memories": ["Pro plan"],
                "user_id": "u1",
                "tenant_id": "t1",
            }
        ),
    ]
    path = tmp_path / "ds.jsonl"
    path.write_text("\n".join(lines) + "\n")
    ds = load_dataset(path)
    # a key the contract does not know (a dataset's own annotation, or a typo) keeps its
    # case, with one warning that names it
    assert [c.id for c in ds.cases] == ["ok-1", "typo", "ok-2"]
    assert ds.cases[1].metadata["unknown_keys"] == {"expected_docs": ["a"]}
    assert ds.warnings == ["unknown keys ['expected_docs'] (first in case 'typo') kept in metadata"]
    errors = {e.line: e.reason for e in ds.errors}
    assert sorted(errors) == [2, 3, 4, 6, 7, 9, 10, 11, 12]
    assert errors[2].startswith("invalid JSON")
    assert "'id' is required" in errors[3]
    assert "expected_outcome" in errors[4] and "maybe" in errors[4]
    assert "duplicate id 'ok-1'" in errors[6]
    assert "either 'messages' or 'threads'" in errors[7]
    assert "non-empty list" in errors[9]
    assert "attachment not found: nope.pdf" in errors[10]
    assert "list of strings" in errors[11]
    assert "JSON object" in errors[12]
    ok2 = ds.cases[2]
    assert len(ok2.threads) == 2 and ok2.final_message.attachments == (
        (tmp_path / "a.pdf").resolve(),
    )
    assert ok2.expected_memories == ("Pro plan",) and ok2.tenant_id == "t1"
    assert str(ds.errors[0]) == f"line 2: {errors[2]}"


def test_write_then_load_round_trips(tmp_path):
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "x.txt").write_text("log")
    case = Case(
        id="c",
        threads=((Message("hi"),), (Message("see", ((tmp_path / "files" / "x.txt"),)),)),
        expected_doc_ids=("a",),
        expected_outcome="answered",
    )
    write_dataset(tmp_path / "out.jsonl", [case])
    raw = json.loads((tmp_path / "out.jsonl").read_text())
    assert raw["threads"][1][0] == {"text": "see", "attachments": ["files/x.txt"]}
    assert load_dataset(tmp_path / "out.jsonl").cases == [case]


def test_transcript_turns_round_trip_and_only_the_last_runs(tmp_path):
    case = Case(
        id="t",
        threads=(
            (
                Message("Is the Grant Hotel near Union Square?"),
                Message("Yes, it is.", role="assistant"),
                Message("What is the check-in time there?"),
            ),
        ),
    )
    write_dataset(tmp_path / "t.jsonl", [case])
    raw = json.loads((tmp_path / "t.jsonl").read_text())
    assert raw["messages"][1] == {"role": "assistant", "text": "Yes, it is."}
    assert raw["messages"][2] == "What is the check-in time there?"  # user: still a string
    assert load_dataset(tmp_path / "t.jsonl").cases == [case]
    history, run = split_history(case.threads[0])
    assert [m.role for m in history] == ["user", "assistant"] and run == case.threads[0][2:]
    assert parse_case({"id": "u", "messages": [{"role": "user", "text": "hi"}]}).final_message == (
        Message("hi")
    )
    plain = (Message("a"), Message("b"))
    assert split_history(plain) == ((), plain)  # no assistant message: every turn runs


def test_bad_transcript_lines_are_load_errors(tmp_path):
    (tmp_path / "a.pdf").write_bytes(b"%PDF-1.4")
    lines = [
        json.dumps(
            {"id": "ends-with-agent", "messages": ["hi", {"role": "assistant", "text": "x"}]}
        ),
        json.dumps({"id": "bad-role", "messages": [{"role": "system", "text": "x"}, "hi"]}),
        json.dumps(
            {
                "id": "agent-file",
                "messages": [{"role": "assistant", "text": "x", "attachments": ["a.pdf"]}, "hi"],
            }
        ),
        json.dumps(
            {
                "id": "file-in-history",
                "messages": [
                    {"text": "see", "attachments": ["a.pdf"]},
                    {"role": "assistant", "text": "ok"},
                    "and?",
                ],
            }
        ),
        json.dumps({"id": "ok", "messages": ["hi", {"role": "assistant", "text": "hello"}, "q"]}),
    ]
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(lines) + "\n")
    ds = load_dataset(path)
    assert [c.id for c in ds.cases] == ["ok"]
    errors = {e.line: e.reason for e in ds.errors}
    assert "must end with a user message" in errors[1]
    assert "'role' must be user or assistant" in errors[2] and "system" in errors[2]
    assert "assistant message carries no attachments" in errors[3]
    assert "only the last message may attach files" in errors[4]


def test_parse_case_rejects_empty_message():
    with pytest.raises(ValueError, match="empty message"):
        parse_case({"id": "x", "messages": ["   "]})


@pytest.mark.parametrize("name", ["sample_kb", "escalation", "memory", "attachments"])
def test_shipped_datasets_load_cleanly(name):
    from tests.conftest import ROOT

    ds = load_dataset(ROOT / "evaluations" / "datasets" / f"{name}.jsonl")
    assert ds.cases and not ds.errors


def test_shipped_gold_documents_exist_in_the_sample_kb():
    from tests.conftest import ROOT, SAMPLE_KB

    for name in ("sample_kb", "escalation", "memory", "attachments"):
        for case in load_dataset(ROOT / "evaluations" / "datasets" / f"{name}.jsonl").cases:
            for doc_id in case.expected_doc_ids or ():
                assert (SAMPLE_KB / doc_id).is_file(), (name, case.id, doc_id)


def test_tau2_helpers():
    text = '**Your goal:** You want to raise your credit limit.\n- If refused, say "Unacceptable!"'
    assert goal_sentence(text) == "You want to raise your credit limit."
    lines = 'You are Ann.\n- If refused, say "Unacceptable!"\nWhen asked, give your name.'
    assert utterances(lines) == ["Unacceptable!", 'say "Unacceptable!"', "give your name."]


def test_faq_split_is_seeded_and_disjoint():
    train = [(f"train {i} {c}", c) for c in "ab" for i in range(5)]
    test = [(f"test {i} {c}", c) for c in "ab" for i in range(6)]
    records, queries, held = faq_split(train, test, 3, 2, seed=1)
    assert faq_split(train, test, 3, 2, seed=1) == (records, queries, held)
    assert [r[0] for r in records] == ["a--0", "a--1", "a--2", "b--0", "b--1", "b--2"]
    assert len(queries) == len(held) == 4 and not set(queries) & set(held)
