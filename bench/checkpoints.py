"""Checkpoint growth: bytes written to Postgres per turn over a 200-turn conversation.

Run from the project root::

    .venv/bin/python bench/checkpoints.py               # 200 turns; full and delta, async and exit
    .venv/bin/python bench/checkpoints.py --turns 50 --modes exit,exit+delta
    .venv/bin/python bench/checkpoints.py --snapshot-every 25

One thread, one customer, 200 distinct questions (follow-ups included), LLM-free, the
tau2 KB, the Postgres checkpointer on the benchmark's own database; escalation is off
for the benchmark's tenant, because a thread handed to a human skips retrieval. After every turn the
thread's rows in ``checkpoints``, ``checkpoint_blobs`` and ``checkpoint_writes`` are
summed; the difference to the previous turn is what that turn wrote. Rows are only ever
added (blobs are keyed by channel version), so the difference is the turn's writes.

Bytes are split into the ``messages`` channel (the conversation) and everything else
(per-turn fields: passages, citations, memories, routing; checkpoint rows and
metadata). Per-turn fields must stay flat. Logical bytes are the serialized sizes
(``octet_length``); stored bytes are after TOAST compression (``pg_column_size``).

A mode is a durability (``async``, ``sync``, ``exit``) and, after ``+``, the shipped
setting ``SUPPORT_CHECKPOINT_MESSAGES`` (``full`` unless ``+delta``): the agent is
opened with those settings, as a deployment would be, nothing is patched. For each mode:
the messages bytes of turns 10, 100 and 200 and, over the ten turns ending there, their
median, max and mean; the mean over the (up to) 100 turns ending there (amortised: it
includes the snapshot turns of ``delta``); the turns that wrote a snapshot of the whole
list; the thread's totals; how long reading the thread back takes. The conversation
read back must be the same in every mode (same durability, full vs delta, and the delta
thread read by a ``full`` graph too).

At the end, the saver's own retention, ``aprune(keep_latest)``, is applied to the thread
to show what it leaves (it refuses ``delta`` threads).

Writes ``bench/results/checkpoints.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import (
    ADMIN_URL,
    TENANT,
    WORK,
    bench_database,
    console,
    machine,
    perf_services,
    perf_settings,
    table,
    workload,
    write_result,
)

from graph.builder import build_graph
from graph.embedded import open_agent
from state.policies import EscalationPolicy

SIZES = """
SELECT 'checkpoints' AS tbl, '' AS channel, count(*) AS n,
       coalesce(sum(octet_length(checkpoint::text) + octet_length(metadata::text)), 0) AS logical,
       coalesce(sum(pg_column_size(checkpoint) + pg_column_size(metadata)), 0) AS stored
  FROM checkpoints WHERE thread_id = %(t)s
UNION ALL
SELECT 'blobs', channel, count(*), coalesce(sum(octet_length(blob)), 0),
       coalesce(sum(pg_column_size(blob)), 0)
  FROM checkpoint_blobs WHERE thread_id = %(t)s GROUP BY channel
UNION ALL
SELECT 'writes', channel, count(*), coalesce(sum(octet_length(blob)), 0),
       coalesce(sum(pg_column_size(blob)), 0)
  FROM checkpoint_writes WHERE thread_id = %(t)s GROUP BY channel
"""
PER_TURN_FIELDS = ("passages", "citations", "memories", "query_terms", "route_reasons")

DB_NAME = "bench_perf_checkpoints"
"""This benchmark's own database, dropped and recreated per run."""


async def sizes(conn: Any, thread_id: str) -> dict[str, dict[str, int]]:
    """{(table:channel): {n, logical, stored}} for the thread."""
    cur = await conn.execute(SIZES, {"t": thread_id})
    return {
        f"{r[0]}:{r[1]}": {"n": r[2], "logical": int(r[3]), "stored": int(r[4])}
        for r in await cur.fetchall()
    }


def delta(after: dict[str, dict[str, int]], before: dict[str, dict[str, int]]) -> dict[str, int]:
    keys = set(after) | set(before)
    zero = {"n": 0, "logical": 0, "stored": 0}
    return {k: after.get(k, zero)["logical"] - before.get(k, zero)["logical"] for k in keys}


def split(d: dict[str, int]) -> dict[str, int]:
    messages = sum(v for k, v in d.items() if k.endswith(":messages"))
    per_turn = sum(v for k, v in d.items() if k.split(":", 1)[1] in PER_TURN_FIELDS)
    return {
        "messages": messages,
        "messages_snapshot": d.get("blobs:messages", 0),
        "per_turn_fields": per_turn,
        "other": sum(d.values()) - messages - per_turn,
        "total": sum(d.values()),
    }


def slope(values: list[int]) -> float:
    """Least-squares bytes-per-turn change per turn."""
    x = np.arange(len(values), dtype=float)
    return float(np.polyfit(x, np.asarray(values, dtype=float), 1)[0]) if len(values) > 1 else 0.0


def at_turn(turns: list[dict[str, int]], turn: int, key: str) -> dict[str, int]:
    """Bytes of ``key`` at ``turn`` (1-based), over the 10 turns ending there, amortised."""
    last10 = [t[key] for t in turns[max(0, turn - 10) : turn]]
    last100 = [t[key] for t in turns[max(0, turn - 100) : turn]]
    return {
        "turn": turns[turn - 1][key],
        "median_of_10": round(statistics.median(last10)),
        "max_of_10": max(last10),
        "mean_of_10": round(statistics.fmean(last10)),
        "amortised_mean_of_100": round(statistics.fmean(last100)),
    }


async def read_ms(graph: Any, thread: str, n: int = 5) -> float:
    """Median time to read the thread's state (what every turn and ``get_state`` do)."""
    times = []
    for _ in range(n):
        start = time.perf_counter()
        await graph.aget_state({"configurable": {"thread_id": thread}})
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 2)


async def one_mode(
    agent: Any, conn: Any, messages: list[str], durability: str, thread: str
) -> dict[str, Any]:
    agent.services.settings.checkpoint_durability = durability
    previous = await sizes(conn, thread)
    turns: list[dict[str, int]] = []
    for message in messages:
        await agent.ask(message, thread_id=thread, user_id=f"{thread}-customer", tenant_id=TENANT)
        now = await sizes(conn, thread)
        turns.append(split(delta(now, previous)))
        previous = now
    n = len(turns)
    marks = sorted({t for t in (10, 100, 200, n) if t <= n})
    windows = {
        f"turns {a + 1}-{b}": {k: round(sum(t[k] for t in turns[a:b]) / (b - a)) for k in turns[0]}
        for a, b in ((0, 10), (n // 2 - 5, n // 2 + 5), (n - 10, n))
    }
    totals = {
        "logical": sum(v["logical"] for v in previous.values()),
        "stored": sum(v["stored"] for v in previous.values()),
        "rows": sum(v["n"] for v in previous.values()),
    }
    state = await agent.graph.aget_state({"configurable": {"thread_id": thread}})
    read_back = [(m.type, m.text, m.id) for m in state.values["messages"]]
    # The same thread read by a graph of the other setting, on the same saver.
    settings = agent.services.settings
    other = "full" if settings.checkpoint_messages == "delta" else "delta"
    crossed = build_graph(
        messages=other, snapshot_every=settings.checkpoint_messages_snapshot_every
    ).compile(checkpointer=agent.checkpointer)
    crossed_state = await crossed.aget_state({"configurable": {"thread_id": thread}})
    crossed_back = [(m.type, m.text, m.id) for m in crossed_state.values["messages"]]
    result: dict[str, Any] = {
        "turns": n,
        "messages_bytes_at_turn": {str(t): at_turn(turns, t, "messages") for t in marks},
        "total_bytes_at_turn": {str(t): at_turn(turns, t, "total") for t in marks},
        "snapshot_turns": [i + 1 for i, t in enumerate(turns) if t["messages_snapshot"]],
        "bytes_per_turn_windows": windows,
        "slope_bytes_per_turn_per_turn": {
            k: round(slope([t[k] for t in turns]), 1) for k in turns[0]
        },
        "per_turn": turns,
        "thread_totals": totals,
        "read_state_ms": await read_ms(agent.graph, thread),
        "messages_readable": len(read_back),
        f"read_by_a_{other}_graph_identical": crossed_back == read_back,
    }
    pruned: dict[str, dict[str, int]] = {}
    if agent.services.settings.checkpoint_messages != "delta":  # the saver refuses those
        await agent.checkpointer.aprune([thread], strategy="keep_latest")
        pruned = await sizes(conn, thread)
        result["messages_readable_after_aprune"] = len(await agent.history(thread))
    result["after_aprune_keep_latest"] = (
        {
            "logical": sum(v["logical"] for v in pruned.values()),
            "stored": sum(v["stored"] for v in pruned.values()),
            "rows": sum(v["n"] for v in pruned.values()),
        }
        if pruned
        else "aprune(keep_latest) refuses DeltaChannel threads"
    )
    return result


def report(mode: str, r: dict[str, Any]) -> None:
    rows = [
        [w, v["messages"], v["per_turn_fields"], v["other"], v["total"]]
        for w, v in r["bytes_per_turn_windows"].items()
    ]
    s = r["slope_bytes_per_turn_per_turn"]
    rows.append(
        [
            "slope (bytes/turn per turn)",
            s["messages"],
            s["per_turn_fields"],
            s["other"],
            s["total"],
        ]
    )
    console.print(
        table(
            f"Bytes written to Postgres per turn, mode {mode} "
            f"({r['turns']}-turn conversation, logical bytes)",
            ["", "messages", "passages/citations/memories/terms", "everything else", "total"],
            rows,
        )
    )
    console.print(
        table(
            f"messages bytes per turn, mode {mode}",
            ["at turn", "that turn", "median of 10", "max of 10", "mean of 10", "mean of 100"],
            [
                [
                    t,
                    v["turn"],
                    v["median_of_10"],
                    v["max_of_10"],
                    v["mean_of_10"],
                    v["amortised_mean_of_100"],
                ]
                for t, v in r["messages_bytes_at_turn"].items()
            ],
        )
    )
    t, p = r["thread_totals"], r["after_aprune_keep_latest"]
    after = (
        f"{p['logical']:,} B / {p['stored']:,} B in {p['rows']} rows" if isinstance(p, dict) else p
    )
    same = {k: v for k, v in r.items() if k.startswith(("read_by_", "history_equals_"))}
    console.print(
        f"thread total {t['logical']:,} B logical / {t['stored']:,} B stored in "
        f"{t['rows']} rows; snapshot turns {r['snapshot_turns'] or 'none'}; read "
        f"{r['read_state_ms']} ms; after aprune(keep_latest): {after}; "
        f"{r['messages_readable']} messages; {same}"
    )


async def run(args: argparse.Namespace) -> dict[str, Any]:
    import psycopg

    messages = [m for c in workload(args.turns * 2, seed=args.seed, prefix="g") for m in c.messages]
    messages = messages[: args.turns]
    result: dict[str, Any] = {
        "machine": machine(),
        "setting": "LLM-free, tau2 KB, Postgres checkpointer, one thread of one customer",
        "snapshot_every": args.snapshot_every,
        "modes": {},
    }
    async with bench_database(args.postgres, DB_NAME) as db:
        # No handover: a thread with a human skips retrieval, and this measures retrieval turns.
        settings = perf_settings(
            db,
            WORK / "perf-checkpoints",
            escalation_tenants={TENANT: EscalationPolicy(enabled_reasons=[])},
            checkpoint_messages_snapshot_every=args.snapshot_every,
        )
        services = await perf_services(settings)
        histories: dict[str, list[tuple[str, str]]] = {}
        async with await psycopg.AsyncConnection.connect(db.libpq, autocommit=True) as conn:
            for mode in args.modes.split(","):
                durability, _, storage = mode.partition("+")
                settings.checkpoint_messages = storage or "full"  # type: ignore[assignment]
                thread = f"growth-{mode}".replace("+", "-")
                async with open_agent(
                    settings, checkpointer="postgres", services=services
                ) as agent:
                    r = await one_mode(agent, conn, messages, durability, thread)
                    histories[mode] = await agent.history(thread)
                if storage and durability in histories:
                    r[f"history_equals_{durability}_mode"] = (
                        histories[mode] == histories[durability]
                    )
                result["modes"][mode] = r
                report(mode, r)
        await services.aclose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument(
        "--modes",
        "--durability",
        default="async,async+delta,exit,exit+delta",
        help="durability async | sync | exit, '+delta' for SUPPORT_CHECKPOINT_MESSAGES=delta",
    )
    parser.add_argument(
        "--snapshot-every",
        type=int,
        default=100,
        help="SUPPORT_CHECKPOINT_MESSAGES_SNAPSHOT_EVERY for the delta modes",
    )
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--postgres", default=ADMIN_URL, help=f"admin URL (database {DB_NAME})")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    write_result("checkpoints", asyncio.run(run(args)), args.out)


if __name__ == "__main__":
    main()
