"""The fault matrix, measured: one customer's turns inside each fault, other customers beside it.

Run from the project root::

    .venv/bin/python bench/faults.py [--turns 5] [--csv-turns 3] [--only hang,429]

Why: the README's fault matrix says what a customer gets under each fault; issue 17 asks
how long they wait for it (and whether anything escapes ``SupportAgent.ask``), before and
after the turn deadline, and whether other customers notice.

How: one process, the sample KB, one embedding model shared by every agent. For each
fault one customer sends ``--turns`` messages on one thread (the first states a fact:
"I'm on the Pro plan", so the row can say whether it was kept) and each turn's wall time
and outcome are recorded: ``answered (model_timeout)``, the attachment's fate, or
``error: <exception type>`` when an exception escapes ``ask`` (recorded, the bench goes
on). A turn is cut at ``--cap`` seconds (150) with ``asyncio.wait_for``: ``hang (>cap)``.
Meanwhile a bystander (a healthy LLM-free agent with its own data in the same process,
or, for the attachment faults, the same agent: the converter and the CPU are what they
share) asks one question after another with a 0.25 s pause; its p50 / p95 during the
row are reported next to its p50 / p95 alone.

The faults, reusing the tests' helpers (``tests/fake_openai.py``'s local OpenAI-compatible
server, ``test_database_outage.Proxy``'s TCP proxy, ``bystanders._big_csv``):

- model: healthy; hangs; 429 with ``Retry-After: 30``; 500; garbage (malformed JSON). The
  project's default model policy (30 s x 3 attempts, breaker after 5 failures).
- model breaker half-open: the circuit is opened by 500s, then the endpoint hangs; each
  measured turn comes after the cool-down (``breaker_reset_s`` lowered to 5 s for the
  bench), so it is the trial call.
- Postgres (the checkpointer, through a TCP proxy the bench owns; the application
  tables stay in SQLite, as in ``test_database_outage.py``): connections cut in the middle
  of each turn (the proxy closed and reopened at once); down for ``--turns`` turns, then
  back, and turns until the first one that answers (``recovery``). The cut comes at a
  seeded random point between 10% and 90% of a typical turn's time. Each row also counts
  customer messages left in the thread without a reply.
- converter crash: before each turn the pooled fork servers are killed; the turn sends
  a valid small file.
- a 9.9 MB one-line CSV (``--csv-turns`` fresh ones).
- Redis down (``SUPPORT_REDIS_URL`` through a proxy, cut after a first turn).

To compare code, copy ``bench/`` (this file, ``_common.py``, ``bystanders.py``) and
``tests/integration/graph/test_database_outage.py`` into a worktree of the other commit
and run it there with ``PYTHONPATH`` = that worktree and ``--label``; the shim at the top
stands in for what the older code lacks. The result records the commit. Writes
``bench/results/faults.json`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import queue
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _common import (
    ADMIN_URL,
    RESULTS,
    ROOT,
    bench_database,
    console,
    machine,
    pct,
    table,
    write_result,
)

import tools.resilience.errors as _errors

if not hasattr(_errors, "StoreUnavailableError"):  # shim: before issue 17 it did not exist
    _errors.StoreUnavailableError = type(  # type: ignore[attr-defined]
        "StoreUnavailableError", (_errors.SupportAgentError,), {}
    )

from bystanders import _big_csv

from graph.embedded import open_agent
from state import Settings
from state.policies import PoliciesSettings
from tests.fake_openai import FakeOpenAI, model_settings
from tests.integration.graph.test_database_outage import Proxy
from tools.embeddings.sentence import SentenceEmbeddings
from tools.services import create_services

SAMPLE_KB = ROOT / "sample_kb"
COMMIT = subprocess.run(
    ["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True, text=True
).stdout.strip()
FACT = "I'm on the Pro plan. How do I reset my password?"
MESSAGES = [
    FACT,
    "How long do refunds take to show up on PayPal?",
    "What batteries does the Lumora Lock take?",
    "Can I change the delivery address after ordering?",
    "My camera shows as offline, what should I try?",
    "How do I update my payment method?",
    "How do I track my order?",
    "What happens when a payment fails?",
    "How do I change my email address?",
    "The app keeps crashing when I open it",
]
BYSTANDER_QUESTIONS = [
    "How do I reset my password?",
    "How long do refunds take to show up on PayPal?",
    "What shipping options do you have?",
    "How do I report a phishing email?",
]
BYSTANDER_PAUSE_S = 0.25


@dataclass
class Turn:
    seconds: float
    outcome: str
    result: Any = None


@dataclass
class Context:
    embeddings: SentenceEmbeddings
    folder: Path
    kb: Path
    bystander: Any
    turns: int
    csv_turns: int
    cap_s: float
    rows: list[dict[str, Any]] = field(default_factory=list)

    def data_copy(self, name: str) -> Path:
        """A private copy of the ingested sample KB data directory."""
        target = self.folder / name
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(self.kb, target)
        return target


def label(result: Any) -> str:
    """``answered``, ``answered (model_timeout)``, plus each attached file's fate."""
    text = result.outcome + (f" ({result.degraded})" if result.degraded else "")
    for a in result.attachments or []:
        status = a.get("status")
        text += f"; file {status}" + (f": {a['error']}" if a.get("error") else "")
    return text


async def timed(ask: Awaitable[Any], cap_s: float) -> Turn:
    """One turn, its wall time and outcome; an escaping exception is an outcome too."""
    started = time.perf_counter()
    try:
        result = await asyncio.wait_for(ask, cap_s)
    except TimeoutError:
        return Turn(time.perf_counter() - started, f"hang (>{cap_s:g} s)")
    except Exception as exc:  # what escapes ask is what the row reports
        return Turn(time.perf_counter() - started, f"error: {type(exc).__name__}")
    return Turn(time.perf_counter() - started, label(result), result)


async def bystander_loop(agent: Any, stop: asyncio.Event, tag: str) -> dict[str, Any]:
    """Other customers, one after another, until ``stop``: their latencies (ms)."""
    times: list[float] = []
    errors: Counter[str] = Counter()
    n = 0
    while not stop.is_set():
        question = BYSTANDER_QUESTIONS[n % len(BYSTANDER_QUESTIONS)]
        started = time.perf_counter()
        try:
            await asyncio.wait_for(agent.ask(question, user_id=f"bystander-{tag}-{n}"), 150)
            times.append((time.perf_counter() - started) * 1000)
        except Exception as exc:
            errors[type(exc).__name__] += 1
        n += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), BYSTANDER_PAUSE_S)
    return {
        "n": len(times),
        "p50_ms": round(pct(times, 50), 1),
        "p95_ms": round(pct(times, 95), 1),
        "max_ms": round(max(times), 1) if times else 0.0,
        "errors": dict(errors),
    }


async def unanswered(agent: Any, thread_id: str | None) -> int | None:
    """Customer messages in the thread with no reply after them (lost words)."""
    if thread_id is None:
        return None
    try:
        roles = [role for role, _ in await agent.history(thread_id)]
    except Exception:
        return None
    return sum(
        1
        for i, r in enumerate(roles)
        if r == "human" and (i + 1 == len(roles) or roles[i + 1] == "human")
    )


async def fact_kept(services: Any, user: str) -> bool | None:
    try:
        kept = await services.memory.list_memories("default", user)
    except Exception:
        return None
    return any("Pro" in m["content"] for m in kept)


async def row(
    ctx: Context,
    name: str,
    run: Callable[[], Awaitable[tuple[list[Turn], dict[str, Any]]]],
    bystander: Any | None = None,
) -> dict[str, Any]:
    """Run one fault's turns while the bystander asks beside them; summarise."""
    console.print(f"[bold]{name}")
    stop = asyncio.Event()
    beside = asyncio.create_task(
        bystander_loop(
            bystander or ctx.bystander, stop, re.sub(r"[^a-z0-9]+", "-", name.lower())[:16]
        )
    )
    started = time.perf_counter()
    try:
        turns, extra = await run()
    except Exception as exc:  # the row's own setup failed: say so, go on
        turns, extra = [], {"setup_error": f"{type(exc).__name__}: {exc}"}
    finally:
        stop.set()
        by = await beside
    seconds = [t.seconds for t in turns]
    out = {
        "fault": name,
        "turns": len(turns),
        "turn_s": {
            "p50": round(statistics.median(seconds), 2) if seconds else None,
            "max": round(max(seconds), 2) if seconds else None,
        },
        "outcomes": dict(Counter(t.outcome for t in turns)),
        "each_turn": [[round(t.seconds, 2), t.outcome] for t in turns],
        "bystander": by,
        "row_wall_s": round(time.perf_counter() - started, 1),
        **extra,
    }
    console.print(out)
    ctx.rows.append(out)
    return out


# -- the model ---------------------------------------------------------------------------------


async def model_fault(
    ctx: Context,
    name: str,
    set_fault: Callable[[FakeOpenAI], None],
    *,
    policies: PoliciesSettings | None = None,
    before_turn: Callable[[], Awaitable[None]] | None = None,
    trip: Callable[[FakeOpenAI], None] | None = None,
    extra_settings: dict[str, Any] | None = None,
    after_warm: Callable[[], Awaitable[dict[str, Any]]] | None = None,
) -> None:
    async def run() -> tuple[list[Turn], dict[str, Any]]:
        fake = FakeOpenAI()
        fake.structured = {  # what a working model extracts from FACT
            "memories": [
                {"kind": "fact", "content": "On the Pro plan", "slot": "plan", "importance": 0.8}
            ]
        }
        overrides: dict[str, Any] = dict(extra_settings or {})
        if policies is not None:
            overrides["policies"] = policies
        services = await create_services(
            model_settings(ctx.data_copy("model"), fake, **overrides), embeddings=ctx.embeddings
        )
        user = f"customer-{name.split()[0]}-{random.randrange(10**6)}"
        extra: dict[str, Any] = {}
        turns: list[Turn] = []
        thread = None
        try:
            async with open_agent(services=services, checkpointer="sqlite") as agent:
                await agent.ask(BYSTANDER_QUESTIONS[0], user_id="warm-up")  # healthy, unmeasured
                if after_warm is not None:
                    extra.update(await after_warm())
                if trip is not None:  # open the circuit first (unmeasured)
                    trip(fake)
                    warm = [
                        await timed(agent.ask(BYSTANDER_QUESTIONS[1], user_id="tripper"), ctx.cap_s)
                        for _ in range(2)
                    ]
                    extra["tripping_turns"] = [[round(t.seconds, 2), t.outcome] for t in warm]
                set_fault(fake)
                for i in range(ctx.turns):
                    if before_turn is not None:
                        await before_turn()
                    turn = await timed(
                        agent.ask(MESSAGES[i % len(MESSAGES)], thread_id=thread, user_id=user),
                        ctx.cap_s,
                    )
                    turns.append(turn)
                    console.print(f"  turn {i}: {turn.seconds:.2f} s {turn.outcome}")
                    if turn.result is not None and thread is None:
                        thread = turn.result.thread_id
                extra["fact_kept"] = await fact_kept(services, user)
                extra["model_requests"] = len(fake.requests)
                fake.mode = "cite"
                extra["unanswered_in_thread"] = await unanswered(agent, thread)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(services.aclose(), 30)
            fake.close()
        return turns, extra

    await row(ctx, name, run)


async def model_rows(ctx: Context, only: set[str]) -> None:
    def mode(m: str, **attrs: Any) -> Callable[[FakeOpenAI], None]:
        def apply(fake: FakeOpenAI) -> None:
            fake.mode = m
            for k, v in attrs.items():
                setattr(fake, k, v)

        return apply

    if "none" in only:
        await model_fault(ctx, "none (healthy model)", mode("cite"))
    if "hang" in only:
        await model_fault(ctx, "model hangs", mode("slow", delay_s=3600.0))
    if "429" in only:
        await model_fault(ctx, "model 429 Retry-After: 30", mode("rate_limited", retry_after=30))
    if "500" in only:
        await model_fault(ctx, "model 500", mode("error"))
    if "garbage" in only:
        await model_fault(ctx, "model garbage (malformed JSON)", mode("malformed"))
    if "half-open" in only:
        reset_s = 5.0
        defaults = PoliciesSettings()
        policies = PoliciesSettings(
            model=defaults.model.model_copy(update={"breaker_reset_s": reset_s})
        )

        async def cool_down() -> None:
            await asyncio.sleep(reset_s + 0.5)

        await model_fault(
            ctx,
            "model breaker half-open (trial against a hanging model)",
            mode("slow", delay_s=3600.0),
            policies=policies,
            before_turn=cool_down,
            trip=mode("error"),
        )
    if "redis" in only:
        proxy = Proxy(6379)
        await proxy.open()

        async def cut() -> dict[str, Any]:
            await asyncio.sleep(1.0)  # a breaker sync round with Redis up
            await proxy.close()
            return {"redis": "proxy closed after the warm-up turn"}

        try:
            await model_fault(
                ctx,
                "Redis down (shared breakers)",
                mode("cite"),
                extra_settings={"redis_url": f"redis://127.0.0.1:{proxy.port}/0"},
                after_warm=cut,
            )
        finally:
            with contextlib.suppress(Exception):
                await proxy.close()


# -- Postgres ----------------------------------------------------------------------------------


async def postgres_rows(ctx: Context, only: set[str]) -> None:
    if not only & {"pg-kill", "pg-down"}:
        return
    async with bench_database(ADMIN_URL, "bench_faults") as db:
        for kind in ("pg-kill", "pg-down"):
            if kind not in only:
                continue
            proxy = Proxy(5432)
            await proxy.open()
            url = db.libpq.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
            settings = Settings(
                _env_file=None,
                data_dir=ctx.data_copy("postgres"),
                checkpointer="postgres",
                postgres_url=url,
            )

            async def run(proxy: Proxy = proxy, settings: Settings = settings, kind: str = kind):
                services = await create_services(settings, embeddings=ctx.embeddings)
                user = f"customer-{kind}-{random.randrange(10**6)}"
                turns: list[Turn] = []
                extra: dict[str, Any] = {}
                try:
                    async with open_agent(services=services) as agent:
                        first = await agent.ask(MESSAGES[1], user_id=user)  # unmeasured
                        thread = first.thread_id
                        typical = await timed(  # how long a turn takes here (unmeasured)
                            agent.ask(MESSAGES[0], thread_id=thread, user_id=user), ctx.cap_s
                        )
                        if kind == "pg-kill":
                            rng = random.Random(17)
                            for i in range(ctx.turns):
                                delay = rng.uniform(0.1, 0.9) * typical.seconds
                                ask = asyncio.create_task(
                                    timed(
                                        agent.ask(
                                            MESSAGES[(i + 2) % len(MESSAGES)],
                                            thread_id=thread,
                                            user_id=user,
                                        ),
                                        ctx.cap_s,
                                    )
                                )
                                await asyncio.sleep(delay)
                                in_flight = not ask.done()
                                await proxy.close()  # live connections cut
                                await proxy.open()  # and the database answers again
                                turn = await ask
                                turn.outcome += "" if in_flight else " [cut after it ended]"
                                turns.append(turn)
                                console.print(f"  turn {i}: {turn.seconds:.2f} s {turn.outcome}")
                            after = await timed(
                                agent.ask(MESSAGES[-1], thread_id=thread, user_id=user), ctx.cap_s
                            )
                            extra["turn_after_the_kills"] = [round(after.seconds, 2), after.outcome]
                        else:
                            await proxy.close()  # the outage
                            for i in range(ctx.turns):
                                turn = await timed(
                                    agent.ask(
                                        MESSAGES[(i + 2) % len(MESSAGES)],
                                        thread_id=thread,
                                        user_id=user,
                                    ),
                                    ctx.cap_s,
                                )
                                turns.append(turn)
                                console.print(f"  turn {i}: {turn.seconds:.2f} s {turn.outcome}")
                            await proxy.open()  # back, same address
                            back = time.perf_counter()
                            recovery = []
                            for _ in range(10):
                                turn = await timed(
                                    agent.ask(MESSAGES[-1], thread_id=thread, user_id=user),
                                    ctx.cap_s,
                                )
                                recovery.append([round(turn.seconds, 2), turn.outcome])
                                if turn.result is not None:
                                    break
                            extra["after_the_database_is_back"] = {
                                "turns_until_an_answer": recovery,
                                "seconds_until_an_answer": round(time.perf_counter() - back, 2),
                            }
                        extra["unanswered_in_thread"] = await unanswered(agent, thread)
                finally:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(services.aclose(), 30)
                    with contextlib.suppress(Exception):
                        await proxy.close()
                return turns, extra

            name = (
                "Postgres connections cut mid-turn"
                if kind == "pg-kill"
                else "Postgres down (then back)"
            )
            await row(ctx, name, run)


# -- attachments -------------------------------------------------------------------------------


async def attachment_rows(ctx: Context, only: set[str]) -> None:
    if not only & {"converter", "csv"}:
        return
    services = await create_services(
        Settings(_env_file=None, data_dir=ctx.data_copy("files")), embeddings=ctx.embeddings
    )
    files = ctx.folder / "files"
    files.mkdir(exist_ok=True)
    try:
        async with open_agent(services=services, checkpointer="sqlite") as agent:
            first = files / "warm.txt"
            first.write_text("Order 1000: Lumora Bulb x1\n")
            await agent.ask("What is in this file?", attachments=[first], user_id="warm-up")

            if "converter" in only:
                converter = services.attachments.converter

                def kill_pool() -> int:
                    pooled = []
                    while True:
                        try:
                            pooled.append(converter._idle.get_nowait())
                        except queue.Empty:
                            break
                    for server in pooled:
                        server.process.kill()
                        server.process.wait(5)
                        converter._idle.put(server)
                    return len(pooled)

                async def crashes() -> tuple[list[Turn], dict[str, Any]]:
                    turns, killed = [], []
                    for i in range(ctx.turns):
                        killed.append(await asyncio.to_thread(kill_pool))
                        note = files / f"order-{i}.txt"
                        note.write_text(f"Order {5521 + i}: Lumora Bulb x{i + 1}, shipped\n")
                        turn = await timed(
                            agent.ask(
                                "Where is this order?", attachments=[note], user_id=f"crash-{i}"
                            ),
                            ctx.cap_s,
                        )
                        turns.append(turn)
                        console.print(f"  turn {i}: {turn.seconds:.2f} s {turn.outcome}")
                    return turns, {"pooled_converters_killed_per_turn": killed}

                await row(ctx, "converter crash (pooled workers killed)", crashes, bystander=agent)

            if "csv" in only:

                async def big_files() -> tuple[list[Turn], dict[str, Any]]:
                    turns = []
                    for i in range(ctx.csv_turns):
                        path = await asyncio.to_thread(_big_csv, files, 100 + i)
                        turn = await timed(
                            agent.ask(
                                "What is in my export?", attachments=[path], user_id=f"big-{i}"
                            ),
                            ctx.cap_s,
                        )
                        turns.append(turn)
                        console.print(f"  turn {i}: {turn.seconds:.2f} s {turn.outcome}")
                    return turns, {"file_bytes": path.stat().st_size}

                await row(ctx, "9.9 MB one-line CSV", big_files, bystander=agent)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(services.aclose(), 60)


async def sample_kb(data_dir: Path, embeddings: SentenceEmbeddings) -> Path:
    """``data_dir`` with the sample KB ingested (tenant ``default``), as the tests' fixture."""
    services = await create_services(
        Settings(_env_file=None, data_dir=data_dir), embeddings=embeddings
    )
    try:
        report = await services.kb.ingest([SAMPLE_KB], "default")
        assert not report.failed, report.failed
    finally:
        await services.aclose()
    return data_dir


# -- main --------------------------------------------------------------------------------------

ALL = [
    "none",
    "hang",
    "429",
    "500",
    "garbage",
    "half-open",
    "redis",
    "pg-kill",
    "pg-down",
    "converter",
    "csv",
]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    only = set(args.only.split(",")) if args.only else set(ALL)
    measured_on = machine()  # with the load average at the start
    folder = Path(tempfile.mkdtemp(prefix="bench-faults-"))
    embeddings = SentenceEmbeddings()
    kb = await sample_kb(folder / "kb", embeddings)
    (folder / "bystander").mkdir()
    shutil.copytree(kb, folder / "bystander" / "data")
    settings = Settings(
        _env_file=None, data_dir=folder / "bystander" / "data", memory_enabled=False
    )
    by_services = await create_services(settings, embeddings=embeddings)
    started = time.perf_counter()
    try:
        async with open_agent(services=by_services, checkpointer="sqlite") as bystander:
            await bystander.ask(BYSTANDER_QUESTIONS[0], user_id="warm-up")
            ctx = Context(embeddings, folder, kb, bystander, args.turns, args.csv_turns, args.cap)
            stop = asyncio.Event()
            alone_task = asyncio.create_task(bystander_loop(bystander, stop, "alone"))
            await asyncio.sleep(args.alone_s)
            stop.set()
            alone = await alone_task
            console.print({"bystander_alone": alone})
            await model_rows(ctx, only)
            await postgres_rows(ctx, only)
            await attachment_rows(ctx, only)
    finally:
        await by_services.aclose()
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "machine": measured_on,
        "code": args.label,
        "commit": COMMIT,
        "turns_per_fault": args.turns,
        "turn_cap_s": args.cap,
        "bystander_alone": alone,
        "faults": ctx.rows,
        "wall_s": round(time.perf_counter() - started, 1),
        "load_avg_at_end": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=5, help="turns of the customer per fault")
    parser.add_argument("--csv-turns", type=int, default=3, help="9.9 MB CSV turns")
    parser.add_argument("--cap", type=float, default=150.0, help="a turn is cut after this (s)")
    parser.add_argument("--alone-s", type=float, default=15.0, help="bystander baseline (s)")
    parser.add_argument("--only", default="", help=f"comma-separated subset of {','.join(ALL)}")
    parser.add_argument("--label", default="after", help="which code this is (before / after)")
    parser.add_argument("--out", type=Path, default=None, help="result file")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    rows = [
        [
            r["fault"],
            r["turn_s"]["p50"],
            r["turn_s"]["max"],
            ", ".join(f"{k} x{v}" for k, v in r["outcomes"].items()),
            r["bystander"]["p50_ms"],
            r["bystander"]["p95_ms"],
        ]
        for r in result["faults"]
    ]
    console.print(
        table(
            f"faults ({args.label})",
            ["fault", "p50 s", "max s", "outcomes", "bystander p50 ms", "p95 ms"],
            rows,
        )
    )
    write_labelled("faults", args.label, result, args.out)


def write_labelled(name: str, label: str, result: dict[str, Any], out: Path | None) -> None:
    """``bench/results/<name>.json`` keeps one entry per code label (before / after).

    A run replaces its own label's entry and keeps the others, so running the file
    against two commits leaves both figures side by side; each entry has its command.
    """
    path = out or RESULTS / f"{name}.json"
    entries: dict[str, Any] = {}
    if path.exists():
        old = json.loads(path.read_text())
        if "code" in old:  # one flat run
            entries[old["code"]] = old
        else:
            entries = {k: v for k, v in old.items() if k not in ("command", "when")}
    command = " ".join([".venv/bin/python", *sys.argv])
    entries[label] = {
        "command": command,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        **result,
    }
    write_result(name, dict(sorted(entries.items(), reverse=True)), path)


if __name__ == "__main__":
    main()
