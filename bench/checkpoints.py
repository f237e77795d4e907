"""Checkpoint growth: bytes written to Postgres per turn over a 200-turn conversation.

Run from the project root::

    .venv/bin/python bench/checkpoints.py               # 200 turns, durability async and exit
    .venv/bin/python bench/checkpoints.py --turns 50

One thread, one customer, 200 distinct questions (follow-ups included), LLM-free, the
tau2 KB, the Postgres checkpointer on the benchmark's own database; escalation is off
for the benchmark's tenant, because a thread handed to a human skips retrieval. After every turn the
thread's rows in ``checkpoints``, ``checkpoint_blobs`` and ``checkpoint_writes`` are
summed; the difference to the previous turn is what that turn wrote. Rows are only ever
added (blobs are keyed by channel version), so the difference is the turn's writes.

Bytes are split into the ``messages`` channel (the conversation: it grows by nature,
and the saver writes the whole list as one blob per new version) and everything else
(per-turn fields: passages, citations, memories, routing; checkpoint rows and
metadata). Per-turn fields must stay flat. Logical bytes are the serialized sizes
(``octet_length``); stored bytes are after TOAST compression (``pg_column_size``).

At the end, the saver's own retention, ``aprune(keep_latest)``, is applied to the thread
to show what it leaves.

Mode ``exit+delta`` is an experiment, in this process only: the graph is built with
``messages`` on LangGraph's ``DeltaChannel`` (beta in langgraph 1.2), which stores each
checkpoint's new messages instead of the whole list; the conversation read back must
be the same as in mode ``exit``.

Writes ``bench/results/checkpoints.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

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
from langchain_core.messages import AnyMessage
from langgraph.channels import DeltaChannel
from langgraph.graph.message import add_messages

import graph.builder
import graph.nodes
from graph.embedded import open_agent
from state import SupportState
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
        "per_turn_fields": per_turn,
        "other": sum(d.values()) - messages - per_turn,
        "total": sum(d.values()),
    }


def slope(values: list[int]) -> float:
    """Least-squares bytes-per-turn change per turn."""
    x = np.arange(len(values), dtype=float)
    return float(np.polyfit(x, np.asarray(values, dtype=float), 1)[0]) if len(values) > 1 else 0.0


async def one_mode(
    agent: Any, conn: Any, messages: list[str], durability: str, thread: str
) -> dict[str, Any]:
    agent.services.settings.checkpoint_durability = durability
    thread = f"growth-{thread}".replace("+", "-")
    previous = await sizes(conn, thread)
    turns: list[dict[str, int]] = []
    for message in messages:
        await agent.ask(message, thread_id=thread, user_id=f"{thread}-customer", tenant_id=TENANT)
        now = await sizes(conn, thread)
        turns.append(split(delta(now, previous)))
        previous = now
    n = len(turns)
    windows = {
        f"turns {a + 1}-{b}": {k: round(sum(t[k] for t in turns[a:b]) / (b - a)) for k in turns[0]}
        for a, b in ((0, 10), (n // 2 - 5, n // 2 + 5), (n - 10, n))
    }
    totals = {
        "logical": sum(v["logical"] for v in previous.values()),
        "stored": sum(v["stored"] for v in previous.values()),
        "rows": sum(v["n"] for v in previous.values()),
    }
    history = await agent.history(thread)
    pruned: dict[str, dict[str, int]] = {}
    with contextlib.suppress(NotImplementedError):  # a DeltaChannel thread cannot be pruned
        await agent.checkpointer.aprune([thread], strategy="keep_latest")
        pruned = await sizes(conn, thread)
        history = await agent.history(thread)
    return {
        "turns": n,
        "bytes_per_turn_windows": windows,
        "slope_bytes_per_turn_per_turn": {
            k: round(slope([t[k] for t in turns]), 1) for k in turns[0]
        },
        "per_turn": turns,
        "thread_totals": totals,
        "messages_readable": len(history),
        "after_aprune_keep_latest": {
            "logical": sum(v["logical"] for v in pruned.values()),
            "stored": sum(v["stored"] for v in pruned.values()),
            "rows": sum(v["n"] for v in pruned.values()),
        }
        if pruned
        else "aprune(keep_latest) refuses DeltaChannel threads",
    }


def _fold(messages: list[AnyMessage], writes: list[Any]) -> list[AnyMessage]:
    """``add_messages`` over a batch of writes, as ``DeltaChannel`` replays them."""
    for write in writes:
        messages = add_messages(messages, write)
    return messages


@dataclass
class DeltaMessagesState(SupportState):
    """``SupportState`` with ``messages`` on a ``DeltaChannel`` (the same reducer)."""

    messages: Annotated[list[AnyMessage], DeltaChannel(_fold)] = field(default_factory=list)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    import psycopg

    messages = [m for c in workload(args.turns * 2, seed=args.seed, prefix="g") for m in c.messages]
    messages = messages[: args.turns]
    result: dict[str, Any] = {
        "machine": machine(),
        "setting": "LLM-free, tau2 KB, Postgres checkpointer, one thread of one customer",
        "modes": {},
    }
    async with bench_database(args.postgres, DB_NAME) as db:
        # No handover: a thread with a human skips retrieval, and this measures retrieval turns.
        settings = perf_settings(
            db,
            WORK / "perf-checkpoints",
            escalation_tenants={TENANT: EscalationPolicy(enabled_reasons=[])},
        )
        services = await perf_services(settings)
        histories: dict[str, list[tuple[str, str]]] = {}
        async with await psycopg.AsyncConnection.connect(db.libpq, autocommit=True) as conn:
            for mode in args.durability.split(","):
                durability, _, variant = mode.partition("+")
                # Node annotations name SupportState too: LangGraph reads them for the schema.
                modules = [graph.builder] + [
                    module
                    for name, module in sorted(sys.modules.items())
                    if name.startswith("graph.nodes.") and hasattr(module, "SupportState")
                ]
                originals = [m.SupportState for m in modules]
                if variant == "delta":
                    for module in modules:
                        module.SupportState = DeltaMessagesState  # type: ignore[misc]
                try:
                    async with open_agent(
                        settings, checkpointer="postgres", services=services
                    ) as agent:
                        r = await one_mode(agent, conn, messages, durability, thread=mode)
                        histories[mode] = await agent.history(f"growth-{mode}".replace("+", "-"))
                finally:
                    for module, original in zip(modules, originals, strict=True):
                        module.SupportState = original  # type: ignore[misc]
                if "exit" in histories and mode != "exit":
                    r["history_equals_exit_mode"] = histories[mode] == histories["exit"]
                result["modes"][mode] = r
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
                        [
                            "",
                            "messages",
                            "passages/citations/memories/terms",
                            "everything else",
                            "total",
                        ],
                        rows,
                    )
                )
                t, p = r["thread_totals"], r["after_aprune_keep_latest"]
                after = (
                    f"{p['logical']:,} B / {p['stored']:,} B in {p['rows']} rows"
                    if isinstance(p, dict)
                    else p
                )
                console.print(
                    f"thread total {t['logical']:,} B logical / {t['stored']:,} B stored in "
                    f"{t['rows']} rows; after aprune(keep_latest): {after}; history "
                    f"{r['messages_readable']} messages"
                    + (
                        f"; same conversation as mode exit: {r['history_equals_exit_mode']}"
                        if "history_equals_exit_mode" in r
                        else ""
                    )
                )
        await services.aclose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument(
        "--durability",
        default="async,exit,exit+delta",
        help="modes: async | sync | exit, '+delta' for messages on a DeltaChannel",
    )
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--postgres", default=ADMIN_URL, help=f"admin URL (database {DB_NAME})")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    write_result("checkpoints", asyncio.run(run(args)), args.out)


if __name__ == "__main__":
    main()
