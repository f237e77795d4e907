"""Who can do what through the server API: the README's table, from real servers.

``python -m tests.server_matrix`` starts ``langgraph dev`` and Aegra
(on a fresh Postgres database) the way the integration tests do, has a customer
open an escalated thread, then tries every operation on it as each role, and
prints what came back. It regenerates the table in README "Deploy".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
import jwt

from tests.servers import ROOT, SECRET, SERVERS, serve_fresh, token

ROLES = {
    "customer (owner)": ("cara", "default", "customer"),
    "other customer": ("bob", "default", "customer"),
    "agent, same tenant": ("sam", "default", "agent"),
    "agent, other tenant": ("oz", "globex", "agent"),
    "no token": None,
}
HELP = {"messages": [{"role": "user", "content": "Please connect me to a human agent"}]}
ASK = {"messages": [{"role": "user", "content": "How do I reset my password?"}]}
OWN_TEXT = "connect me to a human"


def _status(exc: BaseException) -> str:
    if isinstance(exc, httpx.HTTPStatusError):
        return str(exc.response.status_code)
    return "error" if "Error" in repr(exc) else repr(exc)[:40]


async def _try(call: Any) -> Any:
    try:
        return await call()
    except Exception as exc:
        return exc


def _run_result(result: Any, owner_text: bool) -> str:
    if isinstance(result, BaseException):
        text = repr(result)
        return (
            "refused (graph)"
            if "IdentityError" in text or "ThreadAccess" in text
            else (_status(result))
        )
    if not result:
        return "refused (graph), 200 {}"
    return "LEAK" if owner_text and OWN_TEXT in str(result) else "ok"


async def _matrix(server: Any, data_dir: Path) -> dict[str, dict[str, str]]:
    def client(role: str) -> Any:
        who = ROLES[role]
        return server.client(token(*who) if who else None)

    owner = client("customer (owner)")
    thread = await owner.threads.create()
    tid = thread["thread_id"]
    await owner.runs.wait(tid, "support_agent", input=HELP)
    rows: dict[str, dict[str, str]] = {role: {} for role in ROLES}
    order = (
        "no token",
        "other customer",
        "agent, other tenant",
        "customer (owner)",
        "agent, same tenant",
    )
    # First what reads or answers the escalated thread, then new runs on it (a refused run
    # can end the thread's wait for a human on some servers).
    for role in order:
        c, cells = client(role), rows[role]
        created = await _try(lambda c=c: c.threads.create())
        cells["create thread"] = "ok" if isinstance(created, dict) else _status(created)
        state = await _try(lambda c=c: c.threads.get_state(tid))
        cells["state"] = "ok" if isinstance(state, dict) else _status(state)
        history = await _try(lambda c=c: c.threads.get_history(tid))
        cells["history"] = "ok" if isinstance(history, list) else _status(history)
        found = await _try(lambda c=c: c.threads.search(limit=100))
        cells["search threads"] = (
            _status(found)
            if isinstance(found, BaseException)
            else "sees it"
            if tid in [t["thread_id"] for t in found]
            else "does not see it"
        )
        resumed = await _try(
            lambda c=c, role=role: c.runs.wait(
                tid, "support_agent", command={"resume": {"reply": f"reply by {role}"}}
            )
        )
        cells["resume"] = _run_result(resumed, False)
    for role in order:
        c, cells = client(role), rows[role]
        may_read = cells["state"] == "ok"
        if role == "customer (owner)":
            cells["run"] = _run_result(
                await _try(lambda c=c: c.runs.wait(tid, "support_agent", input=ASK)), False
            )
        else:
            cells["run"] = _run_result(
                await _try(lambda c=c: c.runs.wait(tid, "support_agent", input=ASK)),
                not may_read,
            )

        async def stream(c: Any = c) -> list[Any]:
            parts: list[Any] = []
            async for part in c.runs.stream(tid, "support_agent", input=ASK, stream_mode="values"):
                parts.append(part)
            return parts

        streamed = await _try(stream)
        cells["stream"] = (
            _status(streamed)
            if isinstance(streamed, BaseException)
            else "LEAK (thread state streamed)"
            if not may_read and OWN_TEXT in str(streamed)
            else "refused (graph)"
            if "error" in str(streamed) and role != "customer (owner)"
            else "ok"
        )
    # forget, as an operator: the customer's threads go from the server too
    owner_id = jwt.decode(token(*ROLES["customer (owner)"]), SECRET, algorithms=["HS256"])["sub"]
    env = {
        "SUPPORT_DATA_DIR": str(data_dir),
        "SUPPORT_SERVER_URL": server.url,
        "SUPPORT_AUTH_JWT_SECRET": SECRET,
    }
    if server.database_url:
        env["SUPPORT_DATABASE_URL"] = server.database_url.replace(
            "postgresql://", "postgresql+psycopg://"
        )
    forgot = await asyncio.to_thread(
        subprocess.run,
        [
            str(Path(sys.executable).with_name("support-agent")),
            "forget",
            "--user",
            owner_id,
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )
    left = await _try(lambda: owner.threads.get(tid))
    rows["operator"] = {
        "forget": (
            json.dumps(json.loads(forgot.stdout))
            if forgot.returncode == 0
            else f"exit {forgot.returncode}"
        )
        + ("; thread gone" if isinstance(left, BaseException) else "; THREAD LEFT")
    }
    return rows


def main() -> None:

    parser = argparse.ArgumentParser(description=__doc__)
    parser.parse_args()
    results: dict[str, dict[str, dict[str, str]]] = {}
    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    work = Path(tempfile.mkdtemp(prefix="matrix-"))
    sample = work / "sample-data"
    subprocess.run(
        [str(Path(sys.executable).with_name("support-agent")), "kb", "ingest", "sample_kb"],
        env={"SUPPORT_DATA_DIR": str(sample), "PATH": "/usr/bin:/bin"},
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    try:
        for kind in SERVERS:
            with serve_fresh(kind, sample, work, admin) as server:
                results[kind] = asyncio.run(_matrix(server, server.data_dir))  # type: ignore[attr-defined]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ops = ["create thread", "run", "stream", "state", "history", "resume", "search threads"]
    print("| server | role | " + " | ".join(ops) + " |")
    print("|---|---|" + "---|" * len(ops))
    for kind, rows in results.items():
        for role, cells in rows.items():
            if role == "operator":
                continue
            print(f"| {kind} | {role} | " + " | ".join(cells.get(o, "") for o in ops) + " |")
    print()
    for kind, rows in results.items():
        print(f"- {kind}, `support-agent forget --user <owner>`: {rows['operator']['forget']}")


if __name__ == "__main__":
    main()
