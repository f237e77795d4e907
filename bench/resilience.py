"""Overhead of the resilience layer per call, and the cost of breaker storage choices.

Plain script (run by hand or `make bench`): prints a table and writes
bench/results/resilience.json. Medians over many calls of a no-op coroutine:

- bare call;
- through ``Resilience.call`` with in-process breakers;
- through ``Resilience.call`` with breakers mirrored to Redis (``SharedBreakerStorage``);
- through aiobreaker's own ``CircuitRedisStorage`` (synchronous redis client: a network
  round trip on the event loop inside every call), for comparison;
- Redis commands sent synchronously from the event loop per call (each one stalls every
  conversation in the process for a network round trip, and for the socket timeout when
  Redis hangs).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiobreaker import CircuitBreaker, CircuitBreakerState  # noqa: E402
from aiobreaker.storage.redis import CircuitRedisStorage  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from state import PoliciesSettings, ResiliencePolicy  # noqa: E402
from tools.resilience.breakers import BreakerRegistry  # noqa: E402
from tools.resilience.layer import Resilience  # noqa: E402

POLICY = ResiliencePolicy(timeout_s=5, max_attempts=3, breaker_fail_max=5, breaker_reset_s=30)


async def noop() -> int:
    return 1


async def timed(call, n: int) -> list[float]:
    samples = []
    for _ in range(n):
        start = time.perf_counter_ns()
        await call()
        samples.append((time.perf_counter_ns() - start) / 1000)
    return samples


async def main(args: argparse.Namespace) -> dict:
    rows: dict[str, dict[str, float]] = {}

    async def measure(name: str, call) -> None:
        await timed(call, 200)  # warm-up
        samples = await timed(call, args.n)
        rows[name] = {
            "median_us": round(statistics.median(samples), 2),
            "p95_us": round(sorted(samples)[int(0.95 * len(samples))], 2),
            "blocking_redis_commands_per_call": 0.0,
        }

    await measure("bare call", noop)
    local = Resilience(PoliciesSettings(), BreakerRegistry())
    await measure(
        "resilience (in-process breaker)", lambda: local.call("bench", noop, policy=POLICY)
    )
    shared_registry = BreakerRegistry(args.redis, 0.5, namespace=f"bench-{uuid.uuid4().hex[:6]}")
    shared = Resilience(PoliciesSettings(), shared_registry)
    await measure(
        "resilience (breaker mirrored to Redis)",
        lambda: shared.call("bench", noop, policy=POLICY),
    )
    await shared_registry.aclose()

    import redis

    sync_client = redis.from_url(args.redis)
    sent = {"n": 0}
    execute = sync_client.execute_command

    def counting(*a, **kw):
        sent["n"] += 1
        return execute(*a, **kw)

    sync_client.execute_command = counting
    breaker = CircuitBreaker(
        fail_max=5,
        timeout_duration=timedelta(seconds=30),
        state_storage=CircuitRedisStorage(
            CircuitBreakerState.CLOSED, sync_client, namespace=f"bench-{uuid.uuid4().hex[:6]}"
        ),
    )
    name = "aiobreaker CircuitRedisStorage (sync)"
    await measure(name, lambda: breaker.call_async(noop))
    sent["n"] = 0
    await timed(lambda: breaker.call_async(noop), 1000)
    rows[name]["blocking_redis_commands_per_call"] = sent["n"] / 1000
    base = rows["bare call"]["median_us"]
    for row in rows.values():
        row["overhead_us"] = round(row["median_us"] - base, 2)
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000, help="calls per variant")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "resilience.json"))
    args = parser.parse_args()
    rows = asyncio.run(main(args))
    table = Table(
        title=f"Resilience overhead per call (median of {args.n}; `{' '.join(sys.argv)}`)"
    )
    for column in ("variant", "median µs", "overhead µs", "p95 µs", "blocking Redis cmds/call"):
        table.add_column(column, justify="right" if column != "variant" else "left")
    for name, row in rows.items():
        table.add_row(
            name,
            f"{row['median_us']:.1f}",
            f"{row['overhead_us']:.1f}",
            f"{row['p95_us']:.1f}",
            f"{row['blocking_redis_commands_per_call']:.1f}",
        )
    Console().print(table)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"n": args.n, "rows": rows}, indent=2) + "\n")
    print(f"wrote {args.out}")
