"""The ``support-agent`` command line, run as a user runs it: separate processes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

CLI = str(Path(sys.executable).with_name("support-agent"))


def run(args: list[str], data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SUPPORT_", "OPENAI_"))}
    environ.update({"SUPPORT_DATA_DIR": str(data_dir), **env})
    return subprocess.run(
        [CLI, *args], capture_output=True, text=True, env=environ, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def cli_data(sample_kb_data, tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("cli") / "data"
    shutil.copytree(sample_kb_data, copy)
    return copy


def test_ask_json_prints_the_documented_object_and_threads_survive_processes(cli_data):
    first = run(["ask", "My Lumora Lock bolt is jammed", "--user", "u1", "--json"], cli_data)
    assert first.returncode == 0, first.stderr
    result = json.loads(first.stdout)
    assert set(result) >= {
        "thread_id",
        "outcome",
        "answer",
        "citations",
        "escalation",
        "memories_used",
        "latency_ms",
    }
    assert result["outcome"] == "answered"
    assert result["escalation"] is None
    assert set(result["citations"][0]) == {"doc_id", "title", "source", "score"}

    follow = run(
        [
            "ask",
            "What batteries does it take?",
            "--thread",
            result["thread_id"],
            "--user",
            "u1",
            "--json",
        ],
        cli_data,
    )
    assert follow.returncode == 0, follow.stderr
    stranger = run(
        ["ask", "What did I say?", "--thread", result["thread_id"], "--user", "u2"], cli_data
    )
    assert stranger.returncode == 2 and "belongs to another customer" in stranger.stderr
    assert follow.returncode == 0, follow.stderr
    second = json.loads(follow.stdout)
    assert second["thread_id"] == result["thread_id"]
    assert second["citations"][0]["doc_id"] == "troubleshooting/lock-battery-and-jammed-lock.md"


def test_kb_search_json_and_ingest_and_stats(cli_data, tmp_path):
    search = run(["kb", "search", "reset my password", "--k", "3", "--json"], cli_data)
    assert search.returncode == 0, search.stderr
    rows = json.loads(search.stdout)
    assert len(rows) == 3
    assert set(rows[0]) == {"doc_id", "title", "source", "score", "text"}
    assert rows[0]["doc_id"] == "accounts/reset-your-password.md"

    kb_dir = tmp_path / "kb"
    kb_dir.mkdir()
    (kb_dir / "records.jsonl").write_text(
        json.dumps({"id": "faq-1", "title": "Store hours", "content": "Open 9 to 5 daily."}) + "\n"
    )
    ingest = run(["kb", "ingest", str(kb_dir), "--tenant", "acme", "--json"], cli_data)
    assert ingest.returncode == 0, ingest.stderr
    assert json.loads(ingest.stdout)["added"] == ["faq-1"]
    stats = run(["kb", "stats", "--tenant", "acme", "--json"], cli_data)
    assert json.loads(stats.stdout)["documents"] == 1


def test_doctor_reports_health_without_printing_secrets(cli_data):
    secret = "sk-do-not-print-me-12345"
    doctor = run(["doctor", "--json"], cli_data, OPENAI_API_KEY=secret)
    assert secret not in doctor.stdout + doctor.stderr
    report = json.loads(doctor.stdout)
    assert report["ok"] is True, report
    names = {c["name"] for c in report["checks"]}
    assert {"database", "checkpointer", "embedding model", "knowledge base"} <= names
    assert "OPENAI_API_KEY set" in report["checks"][0]["detail"]
    files = next(c for c in report["checks"] if c["name"] == "attachments")
    assert files["detail"].startswith("isolated conversion works")
    auth = next(c for c in report["checks"] if c["name"] == "server auth")
    assert auth["detail"].startswith("server API: no token key")
    tools = next(c for c in report["checks"] if c["name"] == "model tools")
    assert tools["ok"] and tools["detail"].startswith("6 tools")
    assert "search_knowledge_base (kb_search)" in tools["detail"]


def test_doctor_fails_clearly_when_the_knowledge_base_is_empty(tmp_path):
    doctor = run(["doctor", "--json"], tmp_path / "empty")
    assert doctor.returncode == 1
    kb = next(c for c in json.loads(doctor.stdout)["checks"] if c["name"] == "knowledge base")
    assert not kb["ok"] and "kb ingest" in kb["detail"]


def test_invalid_tenant_is_a_clear_error(cli_data):
    bad = run(["ask", "hello", "--tenant", "../etc"], cli_data)
    assert bad.returncode == 2
    assert "invalid tenant" in bad.stderr


def test_memory_list_and_forget_from_the_command_line(cli_data):
    asked = run(
        ["ask", "I'm on the Plus plan. How do I reset my password?", "--user", "mo", "--json"],
        cli_data,
    )
    assert asked.returncode == 0, asked.stderr
    listed = run(["memory", "list", "--user", "mo", "--json"], cli_data)
    assert [m["content"] for m in json.loads(listed.stdout)] == ["On the Plus plan"]
    wrong_tenant = run(["forget", "--user", "mo", "--tenant", "acme", "--json"], cli_data)
    assert json.loads(wrong_tenant.stdout)["nothing_found"] is True
    assert json.loads(wrong_tenant.stdout)["other_tenants"] == ["default"]
    assert "nothing stored about mo in tenant acme" in wrong_tenant.stderr
    assert "data in tenant(s) default" in wrong_tenant.stderr
    forgot = run(["forget", "--user", "mo", "--json"], cli_data)
    assert json.loads(forgot.stdout) == {
        "memories": 1,
        "threads": 1,
        "tickets": 0,
        "attachments": 0,
        "nothing_found": False,
        "other_tenants": [],
    }
    assert json.loads(run(["memory", "list", "--user", "mo", "--json"], cli_data).stdout) == []
    pruned = run(["memory", "prune", "--json"], cli_data)
    assert json.loads(pruned.stdout) == {"archived": 0, "deleted": 0}


def test_ask_attach_reads_the_file_and_refuses_oversized_ones_before_sending(cli_data, tmp_path):
    receipt = tmp_path / "receipt.txt"
    receipt.write_text("Lumora Home receipt 7731\n\nTOTAL DUE: $18.20\n")
    asked = run(
        ["ask", "What is the total due on my receipt?", "--attach", str(receipt), "--json"],
        cli_data,
    )
    assert asked.returncode == 0, asked.stderr
    result = json.loads(asked.stdout)
    assert result["attachments"][0]["filename"] == "receipt.txt"
    assert result["citations"][0]["doc_id"] == result["attachments"][0]["doc_id"]
    assert "$18.20" in result["answer"]

    big = tmp_path / "dump.bin"
    big.write_bytes(b"\0" * 2_000_000)
    refused = run(
        ["ask", "see attached", "--attach", str(big)],
        cli_data,
        SUPPORT_ATTACHMENTS__MAX_BYTES="1000000",
    )
    assert refused.returncode == 2
    assert "dump.bin is 2.0 MB; attachments are limited to 1.0 MB" in refused.stderr


def test_eval_commands_are_a_plugin_and_a_broken_plugin_only_costs_its_own(tmp_path):
    listed = run(["--help"], tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "eval-data" in listed.stdout and "doctor" in listed.stdout
    as_module = subprocess.run(
        [sys.executable, "-m", "graph.cli", "eval", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert as_module.returncode == 0, as_module.stderr
    assert "Usage: support-agent eval " in as_module.stdout

    # A plugin whose module is missing, next to the real ones: warned about, skipped.
    broken = (
        "import importlib, sys\n"
        "from importlib.metadata import EntryPoint\n"
        "cli = importlib.import_module('graph.cli.app')\n"
        "real = cli.entry_points\n"
        "cli.entry_points = lambda group: [\n"
        "    EntryPoint('broken', 'no_such_plugin_module:register', group), *real(group=group)]\n"
        "sys.argv = ['support-agent', *sys.argv[1:]]\n"
        "cli.main()\n"
    )
    for args, code in ((["--help"], 0), (["kb", "stats", "--tenant", "../x"], 2)):
        result = subprocess.run(
            [sys.executable, "-c", broken, *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == code, result.stderr
        assert "command plugin 'broken'" in result.stderr
        assert "No module named 'no_such_plugin_module'" in result.stderr
        if args == ["--help"]:
            assert "eval-data" in result.stdout  # the working plugin still loaded


def test_doctor_never_prints_error_bodies_webhook_paths_or_debug_lines(cli_data, fake_openai):
    secret = "sk-doctor-echo-0123456789"
    fake_openai.mode = "echo_key"
    hook = "https://hooks.example.com/services/T0SECRET/B0SECRET/xyzSECRET"
    doctor = run(
        ["doctor", "--json"],
        cli_data,
        OPENAI_API_KEY=secret,
        SUPPORT_LLM_MODEL="gpt-test",
        SUPPORT_OPENAI_BASE_URL=fake_openai.url,
        SUPPORT_ESCALATION_WEBHOOK_URL=hook,
    )
    output = doctor.stdout + doctor.stderr
    assert secret not in output and "SECRET" not in output
    assert "DEBUG" not in output
    checks = {c["name"]: c for c in json.loads(doctor.stdout)["checks"]}
    assert checks["chat model"]["ok"] is False
    assert "HTTP 401" in checks["chat model"]["detail"]


def test_a_database_that_cannot_be_reached_is_one_line_not_a_traceback(cli_data):
    import socket

    with socket.socket() as probe:  # a port where nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run(
        ["ask", "How do I reset my password?"],
        cli_data,
        SUPPORT_CHECKPOINTER="postgres",
        SUPPORT_POSTGRES_URL=f"postgresql://postgres@127.0.0.1:{port}/nowhere",
    )
    assert result.returncode == 3, result.stderr
    assert "conversation store is unavailable" in result.stderr
    assert "Traceback" not in result.stderr
