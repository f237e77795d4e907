"""Turn latency against a floor measured in the same run: LLM-free, Postgres, tau2 KB.

Run from the project root::

    .venv/bin/python bench/turns.py              # 500+ turns
    .venv/bin/python bench/turns.py --turns 100  # a quick look

Setting: LLM-free mode, the tau2 banking KB ingested, the Postgres checkpointer and the
application tables (long-term memory, thread owners, KB manifest) on a database of the
benchmark's own (``bench_perf_turns``, dropped and recreated per run). Conversations: varied
questions (BANKING77 test questions, tau2 task goals, all distinct) in threads of 1-5
turns, with follow-ups and stated facts (``bench/_common.workload``).

The floor, measured in the same run, interleaved with the turns (one sample after each
turn, on the query that turn searched): one bare query embedding (``model.encode``, no
cache) plus one bare vector query on the same Chroma collection. Figures are reported as
ratios to the floor's median, because absolute times on shared machines drift.

After each turn and floor sample, the text the floor embedded goes to two reference graphs
(``bench/_reference_graph.py``) that do only the floor's work under LangGraph, with a
Postgres saver set up as the agent's: one node, and the agent's five steps with the other
nodes empty. They show what LangGraph and its checkpoints cost here before any of the
agent's own work. (With ``--profile`` they do not run: the profile is of the agent.)

A turn is ``SupportAgent.ask`` end to end (thread-owner check, graph, checkpoints). Per
node, the node functions are timed by wrapping the node factories of ``graph.builder``;
"outside nodes" is the rest of the turn: LangGraph's own work and the checkpoint writes
it waits for (the turn minus the time any node was running: ``retrieve`` and
``remember`` run side by side, so their times overlap).

Writes ``bench/results/turns.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, get_args

from _common import (
    ADMIN_URL,
    TENANT,
    WORK,
    bench_database,
    console,
    floor_sample,
    machine,
    perf_services,
    perf_settings,
    summary,
    table,
    workload,
    write_result,
)
from _reference_graph import reference_graphs, reference_turn
from langgraph.types import Durability

import graph.builder
from graph.embedded import open_agent

NODES = (
    "guard",
    "retrieve",
    "remember",
    "route",
    "answer",
    "tools",
    "abstain",
    "create_ticket",
    "handoff",
)
_current: dict[str, float] = {}
_spans: list[tuple[float, float]] = []
_last_query: list[str] = [""]

DB_NAME = "bench_perf_turns"
"""This benchmark's own database, dropped and recreated per run."""


def _timed(name: str, fn: Any) -> Any:
    @functools.wraps(fn)
    async def wrapper(state: Any, runtime: Any) -> Any:
        started = time.perf_counter()
        try:
            out = await fn(state, runtime)
        finally:
            ended = time.perf_counter()
            _current[name] = _current.get(name, 0.0) + (ended - started) * 1000
            _spans.append((started, ended))
        if name == "retrieve" and isinstance(out, dict):
            _last_query[0] = out.get("query", "")
        return out

    return wrapper


def _in_nodes_ms(spans: list[tuple[float, float]]) -> float:
    """Milliseconds during which at least one node ran (overlapping spans counted once)."""
    total, reach = 0.0, float("-inf")
    for start, end in sorted(spans):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total * 1000


def instrument_nodes() -> None:
    """Time every node function (this process only)."""
    for name in NODES:
        factory = getattr(graph.builder, f"make_{name}")

        def timed_factory(deps: Any, _factory: Any = factory, _name: str = name) -> Any:
            return _timed(_name, _factory(deps))

        setattr(graph.builder, f"make_{name}", timed_factory)


async def measure(
    agent: Any,
    services: Any,
    conversations: list[Any],
    profile: str | None,
    references: dict[str, Any],
    durability: Durability,
) -> dict[str, Any]:
    """Run the conversations turn by turn; after each turn a floor sample and a turn of
    each reference graph, both on the text the turn searched."""
    turn_ms: list[float] = []
    floor_ms: list[float] = []
    reference_ms: dict[str, list[float]] = defaultdict(list)
    per_node: dict[str, list[float]] = defaultdict(list)
    outside: list[float] = []
    outcomes: dict[str, int] = defaultdict(int)
    memories_used = 0
    profiler = None
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler(async_mode="disabled", interval=0.0005)
        profiler.start()
    started = time.perf_counter()
    for conv in conversations:
        for message in conv.messages:
            _current.clear()
            _spans.clear()
            t0 = time.perf_counter()
            result = await agent.ask(
                message, thread_id=conv.thread_id, user_id=conv.user_id, tenant_id=TENANT
            )
            total = (time.perf_counter() - t0) * 1000
            turn_ms.append(total)
            for name, ms in _current.items():
                per_node[name].append(ms)
            outside.append(total - _in_nodes_ms(_spans))
            outcomes[result.outcome] += 1
            memories_used += bool(result.memories_used)
            floor_ms.append(floor_sample(services, _last_query[0]))
            if profiler is not None:
                continue
            for shape, reference in references.items():
                t0 = time.perf_counter()
                await reference_turn(reference, _last_query[0], conv.thread_id, durability)
                reference_ms[shape].append((time.perf_counter() - t0) * 1000)
    wall = time.perf_counter() - started  # floor samples and reference turns included
    if profiler is not None:
        from pyinstrument.renderers import ConsoleRenderer

        profiler.stop()
        flat = ConsoleRenderer(unicode=True, flat=True, show_all=True)
        for path, text in (
            (Path(profile), profiler.output_text(unicode=True, show_all=False)),
            (Path(profile).with_suffix(".flat.txt"), profiler.output(renderer=flat)),
        ):
            path.write_text(text)
    turn = summary(turn_ms)
    floor = summary(floor_ms)
    nodes = {name: summary(v) for name, v in per_node.items()}
    nodes["outside nodes (LangGraph + checkpoints + owner check)"] = summary(outside)
    return {
        "turns": len(turn_ms),
        "threads": len(conversations),
        "wall_s": round(wall, 1),
        "outcomes": dict(outcomes),
        "turns_with_memories": memories_used,
        "turn_ms": turn,
        "floor_ms": floor,
        "ratios": {
            "p50_over_floor_p50": round(turn["p50"] / floor["p50"], 2),
            "p95_over_floor_p50": round(turn["p95"] / floor["p50"], 2),
            "p99_over_floor_p50": round(turn["p99"] / floor["p50"], 2),
            "p95_over_floor_p95": round(turn["p95"] / floor["p95"], 2),
        },
        "nodes_ms": nodes,
        # The least a turn costs with LangGraph and its Postgres saver here (the floor's
        # work in graphs that do nothing else): bench/_reference_graph.py.
        "reference_graphs": {
            shape: _against(summary(samples), turn, floor)
            for shape, samples in reference_ms.items()
        },
    }


def _against(ref: dict[str, float], turn: dict[str, float], floor: dict[str, float]) -> Any:
    return {
        "ms": ref,
        "p50_over_floor_p50": round(ref["p50"] / floor["p50"], 2),
        "p95_over_floor_p50": round(ref["p95"] / floor["p50"], 2),
        "turn_p50_over_this_p50": round(turn["p50"] / ref["p50"], 2),
        "turn_p95_over_this_p95": round(turn["p95"] / ref["p95"], 2),
    }


def show(name: str, r: dict[str, Any]) -> None:
    turn, floor, ratios = r["turn_ms"], r["floor_ms"], r["ratios"]
    cols = ("p50", "p95", "p99", "mean")
    rows = [
        ["whole turn", *[turn[k] for k in cols], ratios["p50_over_floor_p50"]],
        ["floor (embed + vector query)", *[floor[k] for k in cols], 1.0],
    ]
    for shape, ref in r["reference_graphs"].items():
        rows.append(
            [f"reference graph: {shape}", *[ref["ms"][k] for k in cols], ref["p50_over_floor_p50"]]
        )
    for node, s in r["nodes_ms"].items():
        rows.append([f"  {node}", *[s[k] for k in cols], round(s["p50"] / floor["p50"], 2)])
    console.print(
        table(
            f"Turn latency, ms, durability={name} ({r['turns']} turns in {r['threads']} threads; "
            "ratio = p50 / floor p50)",
            ["", *cols, "ratio"],
            rows,
        )
    )
    console.print(
        f"durability={name}: turn p50 / floor = {ratios['p50_over_floor_p50']} (target <= 1.5); "
        f"turn p95 / floor = {ratios['p95_over_floor_p50']} (target <= 2.5); "
        f"outcomes {r['outcomes']}"
    )
    for shape, ref in r["reference_graphs"].items():
        console.print(
            f"durability={name}: reference graph ({shape}) / floor = "
            f"{ref['p50_over_floor_p50']} at p50, {ref['p95_over_floor_p50']} at p95; "
            f"turn / this graph = {ref['turn_p50_over_this_p50']} at p50, "
            f"{ref['turn_p95_over_this_p95']} at p95"
        )


async def run(args: argparse.Namespace) -> dict[str, Any]:
    instrument_nodes()
    result: dict[str, Any] = {
        "machine": machine(),
        "setting": "LLM-free, tau2 KB, Postgres checkpointer + application tables, memory on",
        "targets": {"p50_over_floor": 1.5, "p95_over_floor": 2.5},
        "by_durability": {},
    }
    async with bench_database(args.postgres, DB_NAME) as db:
        settings = perf_settings(db, WORK / "perf-turns")
        services = await perf_services(settings)
        async with (
            open_agent(settings, checkpointer="postgres", services=services) as agent,
            reference_graphs(services, TENANT) as references,
        ):
            for durability in args.durability:
                if "checkpoint_durability" in type(settings).model_fields:  # older code: async
                    services.settings.checkpoint_durability = durability
                # warm-up: pools, prepared caches, the BM25 index (not counted)
                for conv in workload(20, seed=args.seed + 1, prefix=f"warm-{durability}"):
                    for message in conv.messages:
                        await agent.ask(
                            message,
                            thread_id=conv.thread_id,
                            user_id=conv.user_id,
                            tenant_id=TENANT,
                        )
                        floor_sample(services, _last_query[0])
                        for reference in references.values():
                            await reference_turn(
                                reference, _last_query[0], conv.thread_id, durability
                            )
                conversations = workload(args.turns, seed=args.seed, prefix=durability)
                # Same questions for every mode: none may find its query embedding cached.
                services.embeddings.reset_cache()
                r = await measure(
                    agent, services, conversations, args.profile, references, durability
                )
                result["by_durability"][durability] = r
                show(durability, r)
        await services.aclose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=520)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--postgres", default=ADMIN_URL, help=f"admin URL (database {DB_NAME})")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--profile", help="write a pyinstrument profile (text) of the turns here")
    parser.add_argument(
        "--durability",
        default="async,exit",
        help="checkpoint durability modes to measure, comma-separated (async is the default)",
    )
    args = parser.parse_args()
    args.durability = args.durability.split(",")
    if unknown := set(args.durability) - set(get_args(Durability)):
        parser.error(f"unknown durability: {', '.join(sorted(unknown))}")
    write_result("turns", asyncio.run(run(args)), args.out)


if __name__ == "__main__":
    main()
