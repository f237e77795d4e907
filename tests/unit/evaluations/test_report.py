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
