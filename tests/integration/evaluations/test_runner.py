"""The evaluation runner end to end, LLM-free, through the real graph over the sample KB."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from evaluations.dataset import load_dataset
from evaluations.metrics import escalation_scores, percentile
from evaluations.report import build_report
from evaluations.runner import kb_store_dir, run_dataset
from tests.conftest import ROOT, SAMPLE_KB

pytestmark = pytest.mark.integration

DATASETS = ROOT / "evaluations" / "datasets"
CLI = str(Path(sys.executable).with_name("support-agent"))


@pytest.fixture
def settings(sample_kb_data, tmp_path):
    from state import Settings

    data = tmp_path / "data"
    shutil.copytree(sample_kb_data, data)
    return Settings(_env_file=None, data_dir=data)


async def test_escalation_dataset_end_to_end_report_matches_cases(settings, embeddings):
    dataset = load_dataset(DATASETS / "escalation.jsonl")
    broken = load_dataset(
        [
            json.dumps(
                {
                    "id": "broken",
                    "messages": ["hi"],
                    "tenant_id": "../not a tenant",
                    "expected_outcome": "answered",
                }
            )
        ]
    ).cases
    dataset.cases += broken
    run = await run_dataset(dataset, settings, embeddings=embeddings)
    report = build_report(run)
    cases = {c["case_id"]: c for c in report["cases"]}
    assert len(cases) == len(dataset.cases) and report["run"]["mode"] == "llm-free"

    # behaviour a user would notice
    assert cases["esc-human-01"]["outcome"] == "escalated"
    assert cases["esc-human-01"]["escalation"]["ticket_id"]
    assert cases["noesc-02"]["outcome"] == "answered"
    assert cases["noesc-02"]["cited"] and set(cases["noesc-02"]["cited"]) <= set(
        cases["noesc-02"]["retrieved"]
    )
    # one failing case is recorded, the run goes on
    assert cases["broken"]["outcome"] == "error" and "tenant" in cases["broken"]["error"]
    assert report["errors"] == [
        {"case_id": "broken", "trial": 0, "error": cases["broken"]["error"]}
    ]

    # the report's figures are the per-case results, aggregated
    labelled = [c for c in cases.values() if c["expected_outcome"]]
    correct = sum(c["outcome"] == c["expected_outcome"] for c in labelled)
    assert report["outcomes"]["accuracy"] == round(correct / len(labelled), 4)
    assert report["outcomes"]["n"] == len(labelled)
    matrix = report["outcomes"]["confusion"]
    assert sum(sum(r.values()) for r in matrix.values()) == len(labelled)
    assert matrix["answered"]["error"] == 1
    esc = escalation_scores([(c["expected_outcome"], c["outcome"]) for c in labelled])
    for key in ("tp", "fp", "fn", "tn"):
        assert report["escalation"][key] == esc[key]
    assert report["escalation"]["tp"] + report["escalation"]["fn"] == 23
    turns = [ms for c in cases.values() for ms in c["turn_latency_ms"]]
    assert report["latency_ms"]["n"] == len(turns) == sum(c["turns"] for c in cases.values())
    assert report["latency_ms"]["p95"] == round(percentile(turns, 95), 1)
    cited = [c for c in cases.values() if c["cited"]]
    assert report["citations"]["n"] == len(cited)
    assert report["consistency"]["pass^1"] == round(
        sum(c["passed"] for c in cases.values()) / len(cases), 4
    )
    assert report["judge"]["skipped"].startswith("no model configured")
    assert report["langsmith"] == "not configured"

    # each case ran as its own customer, and was forgotten afterwards
    from tools.services import create_services

    services = await create_services(settings, embeddings=embeddings)
    try:
        tickets = await services.tickets.list(settings.default_tenant, None)
    finally:
        await services.aclose()
    assert not [t for t in tickets if t["user_id"].startswith("eval-")]


async def test_retrieval_and_memory_across_threads(settings, embeddings):
    dataset = load_dataset(DATASETS / "memory.jsonl")
    dataset.cases = [c for c in dataset.cases if c.id in ("mem-plan-01", "mem-product-02")]
    report = build_report(await run_dataset(dataset, settings, embeddings=embeddings, repeat=2))
    assert report["run"]["trials"] == 4
    for case in report["cases"]:
        assert case["turns"] == 2
        expected = case["expected_memories"][0].casefold()
        found = any(expected in m.casefold() for m in case["memories"])
        assert case["scores"]["memory_recall"] == float(found)
        gold = case["expected_doc_ids"][0]
        rank = case["retrieved"].index(gold) + 1 if gold in case["retrieved"] else None
        assert case["scores"]["rr"] == (1 / rank if rank else 0.0)
        assert case["scores"]["hit@1"] == float(rank == 1)
    memory = [c["scores"]["memory_recall"] for c in report["cases"]]
    assert report["memory"] == {"n": 4, "recall": round(sum(memory) / 4, 4)}
    assert report["memory"]["recall"] == 1.0  # the plan and the lock are remembered
    # LLM-free runs are deterministic: pass^2 equals pass^1
    assert report["consistency"]["pass^2"] == report["consistency"]["pass^1"]


async def test_kb_is_ingested_once_per_content(tmp_path, embeddings):
    from state import Settings

    kb = tmp_path / "kb"
    kb.mkdir()
    for name in ("camera-offline.md", "app-crashes.md"):
        shutil.copy(SAMPLE_KB / "troubleshooting" / name, kb / name)
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")
    dataset = load_dataset(
        [
            json.dumps(
                {
                    "id": "c",
                    "messages": ["My camera is offline, status light blinks red"],
                    "expected_doc_ids": ["camera-offline.md"],
                    "expected_outcome": "answered",
                }
            )
        ]
    )
    cache = tmp_path / "cache"
    first = await run_dataset(dataset, settings, kb=[kb], cache_dir=cache, embeddings=embeddings)
    second = await run_dataset(dataset, settings, kb=[kb], cache_dir=cache, embeddings=embeddings)
    assert first.kb["store"] == second.kb["store"] == str(kb_store_dir([kb], settings, cache))
    assert first.kb["ingest"]["default"]["chunks_embedded"] > 0
    assert second.kb["ingest"]["default"]["chunks_embedded"] == 0
    assert first.records[0]["retrieved"][0] == "camera-offline.md"
    assert not (tmp_path / "data" / "chroma").exists()  # the configured store is untouched
    (kb / "app-crashes.md").write_text("# Changed\n\nNew content.")
    assert kb_store_dir([kb], settings, cache) != Path(first.kb["store"])  # new content


def _cli(args: list[str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SUPPORT_", "OPENAI_"))}
    environ.pop("LANGSMITH_API_KEY", None)
    environ["SUPPORT_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [CLI, *args], capture_output=True, text=True, env=environ, timeout=600, check=False
    )


def test_eval_command_writes_reports_and_compare_flags_a_regression(tmp_path, sample_kb_data):
    data = tmp_path / "data"
    shutil.copytree(sample_kb_data, data)
    lines = (DATASETS / "sample_kb.jsonl").read_text().splitlines()
    subset = tmp_path / "subset.jsonl"
    subset.write_text("\n".join(lines[:6] + lines[-3:]) + "\n")
    out = tmp_path / "out"
    first = _cli(["eval", str(subset), "--out", str(out), "--json"], data)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert "cases" not in summary and summary["run"]["cases"] == 9
    assert {Path(f).name for f in summary["files"]} >= {"report.json", "report.md", "metrics.png"}
    report = json.loads((out / "report.json").read_text())
    assert len(report["cases"]) == 9 and report["outcomes"]["n"] == 9

    previous = json.loads(json.dumps(report))
    previous["retrieval"]["hit@1"] = min(1.0, (report["retrieval"]["hit@1"] or 0) + 0.2)
    for quantile in ("p50", "p95"):  # timing varies run to run: only the planted change counts
        previous["latency_ms"][quantile] = 1e9
    planted = tmp_path / "previous.json"
    planted.write_text(json.dumps(previous))
    second = _cli(
        [
            "eval",
            str(subset),
            "--out",
            str(tmp_path / "out2"),
            "--compare",
            str(planted),
            "--fail-on-regression",
            "--no-charts",
        ],
        data,
    )
    assert second.returncode == 1, second.stdout + second.stderr
    assert "Regressions: 1" in second.stdout and "retrieval.hit@1" in second.stdout


async def test_with_a_model_the_judge_scores_correctness_and_groundedness(
    sample_kb_data, tmp_path, embeddings, fake_openai
):
    from tests.fake_openai import model_settings

    data = tmp_path / "data"
    shutil.copytree(sample_kb_data, data)
    fake_openai.structured = {"reasoning": "matches the reference", "score": True}
    dataset = load_dataset(
        [
            json.dumps(
                {
                    "id": "refund",
                    "messages": ["How long does a refund to PayPal take?"],
                    "reference_answer": "3-5 business days.",
                    "expected_outcome": "answered",
                }
            )
        ]
    )
    run = await run_dataset(dataset, model_settings(data, fake_openai), embeddings=embeddings)
    report = build_report(run)
    case = report["cases"][0]
    assert case["outcome"] == "answered", case
    assert case["judge"]["correctness"] == 1.0 and case["judge"]["groundedness"] == 1.0
    assert report["judge"]["correctness"] == {"n": 1, "value": 1.0}
    assert report["judge"]["model"] == "test-model" and report["run"]["mode"] == "llm"
    judged = [r for r in fake_openai.requests if "response_format" in r]
    prompts = " ".join(json.dumps(r["messages"]) for r in judged)
    assert "3-5 business days." in prompts  # the reference reached the correctness judge
    assert "FROM-THE-MODEL" in prompts  # the agent's answer was judged


async def test_an_evaluation_never_posts_tickets_to_the_helpdesk(settings, embeddings):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    received: list[str] = []

    class Helpdesk(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Helpdesk)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    live = settings.model_copy(
        update={"escalation_webhook_url": f"http://127.0.0.1:{server.server_address[1]}/tickets"}
    )
    dataset = load_dataset([json.dumps({"id": "h", "messages": ["I want to talk to a human now"]})])
    try:
        run = await run_dataset(dataset, live, embeddings=embeddings, judge=None)
    finally:
        server.shutdown()
    report = build_report(run)
    assert report["cases"][0]["outcome"] == "escalated"
    assert received == []


async def test_imported_history_is_the_start_of_the_next_turn(sample_agent):
    from tools.resilience.errors import ThreadAccessError

    thread = f"imported-{uuid.uuid4().hex[:8]}"
    earlier = [
        ("user", "My Lumora camera is offline."),
        ("assistant", "Sorry to hear that. Is the status light blinking red?"),
    ]
    await sample_agent.import_history(thread, earlier, user_id="alice")
    assert await sample_agent.history(thread) == [("human", earlier[0][1]), ("ai", earlier[1][1])]
    try:
        result = await sample_agent.ask(
            "Yes, it blinks red. What should I do?", thread_id=thread, user_id="alice"
        )
        history = await sample_agent.history(thread)
        assert history[:3] == [
            ("human", earlier[0][1]),
            ("ai", earlier[1][1]),
            ("human", "Yes, it blinks red. What should I do?"),
        ]
        assert history[-1] == ("ai", result.answer) and len(history) >= 4
        assert result.query  # the turn's search query is reported
        # the thread is alice's now: nobody else may import into it or ask on it
        with pytest.raises(ThreadAccessError):
            await sample_agent.import_history(thread, earlier, user_id="mallory")
        with pytest.raises(ThreadAccessError):
            await sample_agent.ask("hi", thread_id=thread, user_id="mallory")
    finally:
        await sample_agent.forget("alice")
    assert await sample_agent.history(thread) == []  # forgotten with the customer


async def test_a_transcript_runs_only_its_last_turn(settings, embeddings):
    dataset = load_dataset(
        [
            json.dumps(
                {
                    "id": "transcript",
                    "messages": [
                        "My Lumora camera is offline.",
                        {"role": "assistant", "text": "Is the status light blinking red?"},
                        "Yes it blinks red, what now?",
                    ],
                    "expected_outcome": "answered",
                    "reference_answer": "Restart the camera and check the Wi-Fi.",
                    "metadata": {"rewrite": "camera offline status light blinking red"},
                }
            )
        ]
    )
    run = await run_dataset(dataset, settings, embeddings=embeddings, judge=None)
    record = run.records[0]
    assert record["error"] is None, record["error"]
    assert (record["turns"], record["imported"], len(record["turn_latency_ms"])) == (1, 2, 1)
    assert record["query"] and record["scores"]["rewrite_f1"] is not None
    assert record["scores"]["answer_f1"] is not None
    report = build_report(run)
    assert report["rewrite"]["n"] == 1 and report["answers"]["n"] == 1
