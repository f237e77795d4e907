"""What tracing costs a turn: the same turns with OpenTelemetry off and recording.

Run from the project root::

    .venv/bin/python bench/tracing.py [--turns 200]

LLM-free, the sample KB, the SQLite checkpointer. "Off" is the default (no exporter
configured: the API's no-op tracer); "on" installs an SDK tracer provider with an
in-memory exporter (every span recorded and kept, as a batch exporter would before
sending). Each mode runs in its own process, alternating, over the same questions, so
drift on a shared machine hits both alike. Writes ``bench/results/tracing.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from typing import Any

from _common import console, machine, sample_kb_data_dir, write_result
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from graph.embedded import open_agent
from state import Settings

QUESTIONS = (
    "How do I reset my password?",
    "How long do refunds take to show up on PayPal?",
    "My Lumora Cam shows offline. What should I try?",
    "Can I use a gift card to pay for my subscription?",
    "How do I change my email address?",
)


async def turns_in_this_process(mode: str, turns: int) -> list[float]:
    """Turn latencies (ms) with tracing ``on`` (SDK provider, in-memory exporter) or ``off``."""
    if mode == "on":
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
        trace.set_tracer_provider(provider)
    settings = Settings(_env_file=None, data_dir=sample_kb_data_dir(), memory_enabled=False)
    times: list[float] = []
    async with open_agent(settings, checkpointer="sqlite") as agent:
        for i in range(5):
            await agent.ask(QUESTIONS[i], user_id="bench-warm-up")
        for i in range(turns):
            started = time.perf_counter()
            await agent.ask(QUESTIONS[i % len(QUESTIONS)], user_id=f"bench-{i // 5}")
            times.append((time.perf_counter() - started) * 1000)
    return times


def run(turns: int, rounds: int) -> dict[str, Any]:
    """Alternate processes with tracing off and on, so drift hits both alike."""
    times: dict[str, list[float]] = {"off": [], "on": []}
    for _ in range(rounds):
        for mode in ("off", "on"):
            done = subprocess.run(
                [sys.executable, __file__, "--mode", mode, "--turns", str(turns)],
                capture_output=True,
                text=True,
                check=True,
            )
            times[mode] += json.loads(done.stdout.strip().splitlines()[-1])
    p50 = {m: statistics.median(v) for m, v in times.items()}
    return {
        "machine": machine(),
        "turns_per_mode": {m: len(v) for m, v in times.items()},
        "p50_ms": {m: round(v, 1) for m, v in p50.items()},
        "mean_ms": {m: round(statistics.fmean(v), 1) for m, v in times.items()},
        "overhead_p50": round(p50["on"] / p50["off"] - 1, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=100, help="per process")
    parser.add_argument("--rounds", type=int, default=2, help="off/on process pairs")
    parser.add_argument("--mode", choices=("on", "off"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode:  # one measuring process: print the latencies for the parent
        print(json.dumps(asyncio.run(turns_in_this_process(args.mode, args.turns))))
        return
    result = run(args.turns, args.rounds)
    console.print(result)
    write_result("tracing", result)


if __name__ == "__main__":
    main()
