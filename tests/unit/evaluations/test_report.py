"""Report aggregation, --compare and pass^k over repeated trials, on synthetic records."""

import copy
import json

import pytest

from evaluations.dataset import load_dataset
from evaluations.report import build_report, compare, headline, render_markdown, write_report
from evaluations.runner import EvalRun, case_passed, score_turn


def _run(outcomes_by_case: dict[str, list[str]], repeat: int) -> EvalRun:
    """Cases expecting 'answered' with gold doc 'g'; each trial's outcome as given."""
    lines = [
        json.dumps(
            {
                "id": cid,
                "messages": ["q"],
                "expected_outcome": "answered",
                "expected_doc_ids": ["g"],
            }
        )
        for cid in outcomes_by_case
    ]
    dataset = load_dataset(lines)
    records = []
    for trial in range(repeat):
        for case in dataset.cases:
            outcome = outcomes_by_case[case.id][trial]
            retrieved = ["g", "x"] if outcome == "answered" else ["x", "y"]
            cited = ["g"] if outcome == "answered" else []
            record = {
                "case_id": case.id,
                "trial": trial,
                "outcome": outcome,
                "expected_outcome": "answered",
                "expected_doc_ids": ["g"],
                "expected_memories": None,
                "retrieved": retrieved,
                "cited": cited,
                "memories": [],
                "turns": 1,
                "turn_latency_ms": [10.0 * (trial + 1)],
                "error": None,
                "answer": "",
                "escalation": None,
            }
            record["scores"] = score_turn(case, retrieved, cited, [])
            record["passed"] = case_passed(record)
            records.append(record)
    return EvalRun(
        "r1",
        dataset,
        records,
        repeat,
        "2026-01-01T00:00:00+00:00",
        1.0,
        "llm-free",
        judge={"skipped": "no model configured"},
    )


def test_repeat_computes_pass_hat_k():
    run = _run(
        {
            "always": ["answered"] * 3,
            "twice": ["answered", "abstained", "answered"],
            "never": ["abstained"] * 3,
        },
        repeat=3,
    )
    report = build_report(run)
    c = report["consistency"]
    assert c["pass^1"] == pytest.approx(round((1 + 2 / 3 + 0) / 3, 4))
    assert c["pass^2"] == pytest.approx(round((1 + 1 / 3 + 0) / 3, 4))  # C(2,2)/C(3,2)
    assert c["pass^3"] == pytest.approx(round(1 / 3, 4))
    assert "pass^4" not in c
    assert set(c) == {"pass^1", "pass^2", "pass^3"}
    assert report["run"]["trials"] == 9 and report["run"]["repeat"] == 3


def test_report_figures_match_the_records():
    run = _run({"a": ["answered"], "b": ["abstained"], "c": ["escalated"]}, repeat=1)
    report = build_report(run)
    assert report["retrieval"]["n"] == 3
    assert report["retrieval"]["hit@1"] == pytest.approx(round(1 / 3, 4))
    assert report["outcomes"]["accuracy"] == pytest.approx(round(1 / 3, 4))
    assert report["outcomes"]["confusion"]["answered"] == {
        "answered": 1,
        "abstained": 1,
        "escalated": 1,
    }
    assert report["escalation"]["fp"] == 1 and report["escalation"]["precision"] == 0.0
    assert report["citations"] == {"n": 1, "validity": 1.0}
    assert report["latency_ms"]["p50"] == 10.0
    assert report["judge"] == {"skipped": "no model configured"}
    assert report["langsmith"] == "not configured"
    markdown = render_markdown(report)
    assert "| hit@1 | 0.333 | 3 |" in markdown
    assert "- `b` trial 0: abstained, expected answered; no gold document in the top 5" in markdown
    assert "- `a` trial" not in markdown


def test_compare_detects_a_planted_regression():
    good = build_report(_run({"a": ["answered"], "b": ["answered"]}, repeat=1))
    bad = copy.deepcopy(good)
    bad["retrieval"]["hit@5"] = 0.5  # planted: was 1.0
    bad["latency_ms"]["p95"] = good["latency_ms"]["p95"] * 3
    bad["outcomes"]["accuracy"] = good["outcomes"]["accuracy"] + 0.001  # within tolerance
    diff = compare(good, bad)
    regressed = {e["metric"]: e for e in diff["regressions"]}
    assert set(regressed) == {"retrieval.hit@5", "latency_ms.p95"}
    assert regressed["retrieval.hit@5"]["delta"] == -0.5
    assert diff["improvements"] == []
    back = compare(bad, good)
    assert {e["metric"] for e in back["improvements"]} == {"retrieval.hit@5", "latency_ms.p95"}
    assert compare(good, good)["regressions"] == []


def test_headline_skips_missing_values():
    report = build_report(_run({"a": ["answered"]}, repeat=1))
    flat = headline(report)
    assert "memory.recall" not in flat and flat["retrieval.hit@1"] == 1.0


def test_write_report_writes_json_markdown_and_charts(tmp_path):
    report = build_report(_run({"a": ["answered"] * 2, "b": ["abstained"] * 2}, repeat=2))
    paths = write_report(report, tmp_path)
    assert {p.name for p in paths} == {
        "report.json",
        "report.md",
        "confusion.png",
        "latency.png",
        "metrics.png",
    }
    for png in tmp_path.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 2000
    assert json.loads((tmp_path / "report.json").read_text())["schema"] == "support-agent-eval/1"


async def test_without_a_key_langsmith_is_never_touched(monkeypatch, make_settings):
    import langsmith

    from evaluations.langsmith_upload import NOT_CONFIGURED, upload_run

    def boom(*args, **kwargs):
        raise AssertionError("the LangSmith client must not be created without a key")

    monkeypatch.setattr(langsmith, "Client", boom)
    monkeypatch.delenv("LANGSMITH_API_KEY", raising=False)
    run = _run({"a": ["answered"]}, repeat=1)
    assert await upload_run(run, make_settings()) == NOT_CONFIGURED


async def test_with_a_key_the_run_goes_through_aevaluate(monkeypatch, make_settings):
    import langsmith.evaluation

    from evaluations.langsmith_upload import upload_run

    calls = {}

    class FakeClient:
        def has_dataset(self, dataset_name):
            calls["dataset"] = dataset_name
            return False

        def create_dataset(self, name, description):
            return type("D", (), {"id": "ds-1"})()

        def create_examples(self, dataset_id, examples):
            calls["examples"] = examples

    async def fake_aevaluate(target, data, evaluators, **kwargs):
        out = await target({"case_id": "a"})
        calls["feedback"] = evaluators[0](out)
        calls["kwargs"] = kwargs
        return type("R", (), {"experiment_name": "exp-1"})()

    monkeypatch.setattr(langsmith.evaluation, "aevaluate", fake_aevaluate)
    run = _run({"a": ["answered"]}, repeat=1)
    result = await upload_run(run, make_settings(langsmith_api_key="k"), client=FakeClient())
    assert result == {"experiment": "exp-1", "dataset": "support-agent-eval-dataset"}
    assert calls["examples"][0]["inputs"]["case_id"] == "a"
    keys = {r["key"]: r["score"] for r in calls["feedback"]["results"]}
    assert keys["hit@1"] == 1.0 and keys["passed"] == 1.0 and keys["outcome_correct"] == 1.0
    assert calls["kwargs"]["num_repetitions"] == 1


def _quality_run() -> EvalRun:
    """MTRAG-like cases: answerability labels, reference answers, a rewrite; given confidences."""
    rows = [
        # id, expected, answerability, confidence, answer, reference
        ("ans-1", "answered", "answerable", 0.9, "It takes 5 days.", "It takes 5 business days."),
        ("ans-2", "answered", "answerable", 0.6, "No idea.", "Call the bank."),
        ("part", "answered", "partial", 0.2, "", "Only in part."),
        ("un-1", "abstained", "unanswerable", 0.1, "", "I don't know."),
        ("un-2", "abstained", "unanswerable", 0.7, "Something.", "I don't know."),
        ("under", "abstained", "underspecified", 0.0, "", "Which card do you mean?"),
    ]
    lines = [
        json.dumps(
            {
                "id": cid,
                "messages": ["q"],
                "expected_outcome": expected,
                "reference_answer": reference,
                "metadata": {"answerability": label},
            }
        )
        for cid, expected, label, _, _, reference in rows
    ]
    lines.append(
        json.dumps(
            {
                "id": "rw",
                "messages": ["Gold card fees", "and the annual one?"],
                "metadata": {"rewrite": "What is the annual fee of the Gold card?"},
            }
        )
    )
    dataset = load_dataset(lines)
    answers = {cid: (conf, answer) for cid, _, _, conf, answer, _ in rows}
    records = []
    for case in dataset.cases:
        confidence, answer = answers.get(case.id, (0.5, ""))
        query = "annual fee gold card" if case.id == "rw" else "q"
        record = {
            "case_id": case.id,
            "trial": 0,
            "outcome": "answered" if answer else "abstained",
            "expected_outcome": case.expected_outcome,
            "retrieved": [],
            "cited": [],
            "memories": [],
            "turns": 1,
            "turn_latency_ms": [5.0],
            "error": None,
            "answer": answer,
            "confidence": confidence,
            "query": query,
        }
        record["scores"] = score_turn(case, [], [], [], answer=answer, query=query)
        record["passed"] = case_passed(record)
        records.append(record)
    return EvalRun("r2", dataset, records, 1, "2026-01-01T00:00:00+00:00", 1.0, "llm-free")


def test_abstention_separation_overall_and_by_answerability():
    report = build_report(_quality_run())
    a = report["abstention"]
    # answered 0.9, 0.6, 0.2 against abstained 0.1, 0.7, 0.0: 7 of 9 pairs
    assert (a["n_answered"], a["n_abstained"]) == (3, 3)
    assert a["auroc"] == round(7 / 9, 4)
    # 80% of 3 abstained cases = 3: threshold 0.7; 0.6 and 0.2 fall at or below it
    assert a["threshold"] == 0.7 and a["false_abstention"] == round(2 / 3, 4)
    by = a["by_answerability"]
    assert set(by) == {"answerable", "partial", "unanswerable", "underspecified"}
    assert by["underspecified"]["auroc"] == 1.0  # 0.0 against 0.9, 0.6, 0.2
    assert (by["underspecified"]["n_answered"], by["underspecified"]["n_abstained"]) == (3, 1)
    assert by["unanswerable"]["auroc"] == round(4 / 6, 4)
    assert by["partial"]["auroc"] == round(2 / 3, 4)  # 0.2 against every abstained case
    assert (by["partial"]["n_answered"], by["partial"]["n_abstained"]) == (1, 3)
    markdown = render_markdown(report)
    assert "| abstention AUROC (confidence) | 0.778 | 3 + 3 |" in markdown
    assert "false abstention at 80% out-of-scope recall (confidence ≤ 0.700) | 0.667 |" in markdown
    assert "## Abstention by answerability" in markdown
    assert "| underspecified | 1.000 | 0.000 | 0.000 | 3 + 1 |" in markdown


def test_answer_token_f1_only_over_expected_answered_cases():
    report = build_report(_quality_run())
    # ans-1: "it takes 5 days" vs "it takes 5 business days" = 8/9; ans-2 and part: 0
    assert report["answers"] == {"n": 3, "token_f1": round((8 / 9) / 3, 4)}
    assert "| answer token F1 | 0.296 | 3 |" in render_markdown(report)


def test_rewrite_f1_against_the_two_baselines():
    report = build_report(_quality_run())
    rw = report["rewrite"]
    # gold content words: annual fee gold card; the query has all four
    assert rw["n"] == 1 and rw["query_f1"] == 1.0
    # "annual one": 1 of 2 words in common with 4; "gold card fees annual one": 3 of 5
    assert rw["last_message_f1"] == round(2 * 1 / (2 + 4), 4)
    assert rw["previous_last_f1"] == round(2 * 3 / (5 + 4), 4)
    markdown = render_markdown(report)
    assert "| rewrite F1: the turn's query | 1.000 | 1 |" in markdown
    assert "| rewrite F1: previous + last message |" in markdown


def test_compare_reads_false_abstention_as_lower_is_better():
    good = build_report(_quality_run())
    worse = copy.deepcopy(good)
    worse["abstention"]["false_abstention"] = good["abstention"]["false_abstention"] + 0.1
    worse["abstention"]["auroc"] = good["abstention"]["auroc"] - 0.1
    regressed = {e["metric"] for e in compare(good, worse)["regressions"]}
    assert regressed == {"abstention.false_abstention", "abstention.auroc"}
    assert "answers.token_f1" in headline(good) and "rewrite.query_f1" in headline(good)
