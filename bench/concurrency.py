"""Concurrent conversations on one process: turns per second, p95, errors; batching; cache.

Run from the project root::

    .venv/bin/python bench/concurrency.py                     # 1, 8, 32, 64 conversations
    .venv/bin/python bench/concurrency.py --levels 1,8 --turns 80

Same setting as ``bench/turns.py`` (LLM-free, tau2 KB, Postgres checkpointer and
application tables on the benchmark's own database). At each level, that many
conversations run at once (each its turns in order) until ``--turns`` turns are done.
Every level runs the same questions with the query cache emptied first, so the levels do
the same work. Modes: query embeddings of concurrent turns batched into one model call or
not (``SUPPORT_EMBEDDING_BATCHING``), and the checkpoint durability.

Errors: turns that raised; "degraded" counts turns that answered without a dependency
(a search or memory timeout under load shows up there, not as an error).

Cache: a workload where a third of the questions come from a small popular set, run with
the query cache on and off: model calls and texts embedded, turns per second.

Writes ``bench/results/concurrency.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from _common import (
    ADMIN_URL,
    TENANT,
    WORK,
    Conversation,
    bench_database,
    console,
    machine,
    perf_services,
    perf_settings,
    summary,
    table,
    workload,
    write_result,
)

from graph.embedded import open_agent

DB_NAME = "bench_perf_concurrency"
"""This benchmark's own database, dropped and recreated per run."""


async def drive(agent: Any, conversations: list[Conversation], level: int) -> dict[str, Any]:
    """Run ``conversations`` with ``level`` of them in flight at any time."""
    queue: asyncio.Queue[Conversation] = asyncio.Queue()
    for conv in conversations:
        queue.put_nowait(conv)
    latencies: list[float] = []
    errors: list[str] = []
    degraded = 0

    async def worker() -> None:
        nonlocal degraded
        while not queue.empty():
            conv = queue.get_nowait()
            for message in conv.messages:
                started = time.perf_counter()
                try:
                    result = await agent.ask(
                        message, thread_id=conv.thread_id, user_id=conv.user_id, tenant_id=TENANT
                    )
                except Exception as error:  # counted, never hidden
                    errors.append(f"{type(error).__name__}: {error}"[:200])
                    continue
                latencies.append((time.perf_counter() - started) * 1000)
                degraded += bool(result.degraded)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(level)))
    wall = time.perf_counter() - started
    done = len(latencies)
    return {
        "level": level,
        "turns": done,
        "wall_s": round(wall, 2),
        "turns_per_s": round(done / wall, 2),
        "latency_ms": summary(latencies),
        "errors": len(errors),
        "error_examples": sorted(set(errors))[:3],
        "degraded": degraded,
    }


def popular_workload(turns: int, seed: int, prefix: str) -> list[Conversation]:
    """Like ``workload``, but a third of the messages are one of 20 popular questions."""
    rng = random.Random(seed)
    base = workload(turns, seed=seed, prefix=prefix)
    popular = [m for c in workload(40, seed=seed + 99, prefix="p") for m in c.messages][:20]
    return [
        replace(c, messages=[rng.choice(popular) if rng.random() < 1 / 3 else m for m in msgs])
        for c in base
        if (msgs := c.messages)
    ]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    levels = [int(x) for x in args.levels.split(",")]
    modes = [m.split(":") for m in args.modes.split(",")]
    result: dict[str, Any] = {
        "machine": machine(),
        "setting": "LLM-free, tau2 KB, Postgres checkpointer + application tables, memory on",
        "turns_per_level": args.turns,
        "target": "32 concurrent >= 3x the serial turns/s, no errors",
        "modes": {},
    }
    async with bench_database(args.postgres, DB_NAME) as db:
        settings = perf_settings(db, WORK / "perf-concurrency")
        services = await perf_services(settings)
        embeddings = services.embeddings
        async with open_agent(settings, checkpointer="postgres", services=services) as agent:
            for warm in workload(20, seed=args.seed + 1, prefix="warm"):
                for message in warm.messages:
                    await agent.ask(
                        message, thread_id=warm.thread_id, user_id=warm.user_id, tenant_id=TENANT
                    )
            for batching, durability in modes:
                name = f"batching={batching}, durability={durability}"
                on = batching == "on"
                services.kb.queries.enabled = services.memory.queries.enabled = on
                services.settings.checkpoint_durability = durability
                rows = []
                for level in levels:
                    embeddings.reset_cache()
                    calls, texts = embeddings.encode_calls, embeddings.queries_embedded
                    conversations = workload(
                        args.turns, seed=args.seed, prefix=f"{batching}-{durability}-{level}"
                    )
                    row = await drive(agent, conversations, level)
                    row["encode_calls"] = embeddings.encode_calls - calls
                    row["texts_embedded"] = embeddings.queries_embedded - texts
                    rows.append(row)
                    console.print(
                        f"{name} level {level}: {row['turns_per_s']} turns/s, "
                        f"p95 {row['latency_ms']['p95']:.0f} ms, errors {row['errors']}, "
                        f"degraded {row['degraded']}, texts/call "
                        f"{row['texts_embedded'] / max(1, row['encode_calls']):.1f}"
                    )
                serial = rows[0]["turns_per_s"] if levels[0] == 1 else None
                for row in rows:
                    row["speedup_vs_serial"] = (
                        round(row["turns_per_s"] / serial, 2) if serial else None
                    )
                result["modes"][name] = rows
                console.print(
                    table(
                        f"Concurrent conversations, {name} ({args.turns} turns per level)",
                        [
                            "conversations",
                            "turns/s",
                            "x serial",
                            "p50 ms",
                            "p95 ms",
                            "errors",
                            "degraded",
                            "texts per encode",
                        ],
                        [
                            [
                                r["level"],
                                r["turns_per_s"],
                                r["speedup_vs_serial"],
                                r["latency_ms"]["p50"],
                                r["latency_ms"]["p95"],
                                r["errors"],
                                r["degraded"],
                                round(r["texts_embedded"] / max(1, r["encode_calls"]), 1),
                            ]
                            for r in rows
                        ],
                    )
                )
            # the query cache: repeated questions are embedded once
            services.kb.queries.enabled = services.memory.queries.enabled = True
            services.settings.checkpoint_durability = "async"
            cache_rows = []
            for size in (0, settings.query_cache_size):
                embeddings.reset_cache(size)
                calls, texts = embeddings.encode_calls, embeddings.queries_embedded
                conversations = popular_workload(args.turns, args.seed, f"cache{size}")
                row = await drive(agent, conversations, args.cache_level)
                row.update(
                    cache_size=size,
                    encode_calls=embeddings.encode_calls - calls,
                    texts_embedded=embeddings.queries_embedded - texts,
                )
                cache_rows.append(row)
            embeddings.reset_cache(settings.query_cache_size)
            result["query_cache"] = cache_rows
            console.print(
                table(
                    f"Query cache, a third of the questions repeated "
                    f"({args.cache_level} conversations)",
                    ["cache size", "turns/s", "p95 ms", "texts embedded", "encode calls", "errors"],
                    [
                        [
                            r["cache_size"],
                            r["turns_per_s"],
                            r["latency_ms"]["p95"],
                            r["texts_embedded"],
                            r["encode_calls"],
                            r["errors"],
                        ]
                        for r in cache_rows
                    ],
                )
            )
        await services.aclose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="1,8,32,64")
    parser.add_argument("--turns", type=int, default=256, help="turns per level")
    parser.add_argument(
        "--modes",
        default="off:async,on:async,on:exit",
        help="batching:durability pairs, comma-separated",
    )
    parser.add_argument("--cache-level", type=int, default=8)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--postgres", default=ADMIN_URL, help=f"admin URL (database {DB_NAME})")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    write_result("concurrency", asyncio.run(run(args)), args.out)


if __name__ == "__main__":
    main()
