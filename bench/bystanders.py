"""Other customers' turns while a 9.9 MB one-line CSV is being read.

Run from the project root::

    .venv/bin/python bench/bystanders.py [--turns 40]

LLM-free, the sample KB, the SQLite checkpointer, one process (the embedded agent). A
bystander asks ``--turns`` questions one after another, first alone, then while another
customer sends a new 9.9 MB one-line CSV (a fresh one each time, so nothing is
deduplicated) in a loop. Reports the bystander's p50 / p95 both ways, how long each
big-file turn took, and the process's resident memory before the big files, at its
peak, and 3 s after the last one (what the process keeps). Writes
``bench/results/bystanders.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import console, machine, sample_kb_data_dir, write_result

from graph.embedded import open_agent
from state import Settings

QUESTION = "How do I reset my password?"


def _memory_mb() -> dict[str, float]:
    """Resident memory now and at its peak (``/proc/self/status``), in MB."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return {k: round(int(fields[k].split()[0]) / 1024, 1) for k in ("VmRSS", "VmHWM")}


def _big_csv(folder: Path, n: int) -> Path:
    row = ",".join(f"item{i} qty {(i + n) % 7}" for i in range(700_000))
    path = folder / f"export-{n}.csv"
    path.write_text("name,values\nexport," + row[: 9_900_000 - 30] + "\n")
    return path


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50": round(statistics.median(ordered), 1),
        "p95": round(ordered[int(0.95 * (len(ordered) - 1))], 1),
    }


async def run(turns: int) -> dict[str, Any]:
    settings = Settings(_env_file=None, data_dir=sample_kb_data_dir(), memory_enabled=False)
    folder = Path(tempfile.mkdtemp())
    async with open_agent(settings, checkpointer="sqlite") as agent:
        await agent.ask(QUESTION, user_id="warm-up")

        async def bystander() -> list[float]:
            times = []
            for i in range(turns):
                started = time.perf_counter()
                await agent.ask(QUESTION, user_id=f"bystander-{i}")
                times.append((time.perf_counter() - started) * 1000)
            return times

        alone = await bystander()
        before = _memory_mb()
        stop = asyncio.Event()
        file_turns: list[float] = []

        async def sender() -> None:
            n = 0
            while not stop.is_set():
                path = await asyncio.to_thread(_big_csv, folder, n)
                started = time.perf_counter()
                await agent.ask("What is in my export?", attachments=[path], user_id=f"big-{n}")
                file_turns.append((time.perf_counter() - started) * 1000)
                n += 1

        sending = asyncio.create_task(sender())
        await asyncio.sleep(1.0)
        loaded = await bystander()
        stop.set()
        await sending
        await asyncio.sleep(3.0)
        after = _memory_mb()
    return {
        "machine": machine(),
        "bystander_alone_ms": _percentiles(alone),
        "bystander_while_a_10mb_csv_is_read_ms": _percentiles(loaded),
        "big_file_turns": len(file_turns),
        "big_file_turn_ms": _percentiles(file_turns) if file_turns else None,
        "rss_mb": {
            "before_the_files": before["VmRSS"],
            "peak": after["VmHWM"],
            "3_s_after_the_last": after["VmRSS"],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=40)
    args = parser.parse_args()
    result = asyncio.run(run(args.turns))
    console.print(result)
    write_result("bystanders", result)


if __name__ == "__main__":
    main()
