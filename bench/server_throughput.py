"""Throughput of the served graph with 1 and 2 Aegra worker processes, through langgraph-sdk.

Run from the project root (needs the local PostgreSQL and Redis)::

    .venv/bin/python bench/server_throughput.py                    # 1, 8, 32 conversations
    .venv/bin/python bench/server_throughput.py --levels 32 --rounds 2 --torch-threads default
    .venv/bin/python bench/server_throughput.py --graph reference  # a graph that only searches

Why: ``bench/concurrency.py`` shows one process is bounded by its own event loop (32
conversations give 1.2-1.5x the serial rate on two cores), so a deployment scales by
adding worker processes. This measures whether it does, end to end, the way clients see
it: Aegra (``uvicorn aegra_api.main:app`` with ``AEGRA_CONFIG=aegra.json``, as ``make
serve`` runs it) with ``--workers`` 1 and 2 (``WEB_CONCURRENCY``), driven by
langgraph-sdk with real HS256 tokens checked by the project's auth handler.

How: one database of the benchmark's own (``bench_server_throughput``, dropped and
recreated, dropped at the end) holds Aegra's tables and the project's; the tau2 banking KB
is ingested into it (tenant ``bench-tau2``, chunk vectors reused as in the other
benches), then the server is started with ``tests/servers.serve`` (which also ingests the
sample KB into tenant ``default``) once per worker count, the 1-worker server first so
Aegra's migrations never run in two workers at once. LLM-free (no model configured).
With 2 workers, ``SUPPORT_REDIS_URL`` is set so the workers share their circuit
breakers (Aegra 0.6 itself has no Redis or broker setting: each run executes in the
worker that received its request, which is all ``runs.wait`` / ``runs.stream`` need).

Each conversation is a customer (its own token and client) with ``--conv-turns``
distinct questions (BANKING77 test questions and tau2 goals, some stating a fact the
memory node stores) in a new thread; a turn is one ``runs.wait`` (or ``runs.stream``)
whose result must end with an AI reply to that question. At each level, that many
conversations are in flight at once until ``--turns`` turns are done. Before timing, a
warm-up (each worker loads the KB's vectors and opens its pools). After each level, each
thread's state (``threads.get_state``) must hold exactly its questions, in order, each
followed by one AI reply: questions missing are "lost", extra copies "duplicated".

``--graph reference`` serves ``bench/reference_served.py`` instead of the agent, under the
same Aegra, auth handler and HTTP app: the agent's steps with every node empty but the
search, which does only the floor's work of ``bench/turns.py``. What two workers give it
is what this machine and Aegra allow a graph that does nothing else (written to
``bench/results/server_reference.json``).

CPU seconds are read from ``/proc`` for the server's processes, this client and the
machine (so a saturated machine or a busy client shows). The load average is recorded at
start and end; if it is above ``--max-load`` at start, the run waits (up to
``--load-wait`` seconds) for it to drop. Writes ``bench/results/server.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import ssl
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import (
    ADMIN_URL,
    ROOT,
    TENANT,
    WORK,
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

from tests.servers import Server, serve, token

_TLS = ssl.create_default_context()

DB_NAME = "bench_server_throughput"
"""This benchmark's own database, dropped and recreated per run."""
GRAPH = "support_agent"
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Conv:
    """A customer's conversation: their id and their questions, in order."""

    user: str
    questions: list[str]


def conversations(count: int, turns: int, seed: int, prefix: str) -> list[Conv]:
    """``count`` conversations of ``turns`` questions each, no question repeated anywhere."""
    pool = list(
        dict.fromkeys(m for c in workload(count * turns * 2, seed=seed) for m in c.messages)
    )
    random.Random(seed).shuffle(pool)
    if len(pool) < count * turns:
        raise ValueError("not enough distinct questions")
    return [
        Conv(f"{prefix}-{i}-{uuid.uuid4().hex[:6]}", pool[i * turns : (i + 1) * turns])
        for i in range(count)
    ]


# -- CPU accounting from /proc ------------------------------------------------------------------


def _proc_stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, user+system CPU seconds) of ``pid``; None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS


def _processes() -> dict[int, tuple[int, float, str]]:
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _proc_stat(int(entry.name))
            if stat is not None:
                try:
                    comm = (entry / "comm").read_text().strip()
                except OSError:
                    continue
                out[int(entry.name)] = (*stat, comm)
    return out


def _server_pid(port: int) -> int | None:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"aegra_api.main:app" in argv and str(port).encode() in argv:
            return int(entry.name)
    return None


def _machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / TICKS, sum(values) / TICKS


def _family(root: int, procs: dict[int, tuple[int, float, str]]) -> set[int]:
    """``root`` and its descendants (uvicorn's worker processes)."""
    family = {root}
    changed = True
    while changed:
        changed = False
        for pid, (ppid, _, _) in procs.items():
            if ppid in family and pid not in family:
                family.add(pid)
                changed = True
    return family


def _backends(database: str) -> set[int]:
    """Postgres backends connected to ``database`` (their title names it)."""
    out = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if title.startswith(b"postgres: ") and f" {database} ".encode() in title:
                out.add(int(entry.name))
    return out


def cpu_snapshot(server_pid: int | None, backends: dict[int, float]) -> dict[str, float]:
    """CPU seconds so far; ``backends`` keeps each of our Postgres backends' last reading."""
    procs = _processes()
    server = 0.0
    each: dict[int, float] = {}
    if server_pid is not None:
        each = {p: procs[p][1] for p in _family(server_pid, procs) if p in procs}
        server = sum(each.values())
    for pid in _backends(DB_NAME):
        if pid in procs:
            backends[pid] = procs[pid][1]
    busy, total = _machine_busy()
    return {
        "server": server,
        **{f"server_process_{pid}": cpu for pid, cpu in each.items()},
        "postgres": sum(backends.values()),  # exited backends keep their last reading
        "client": sum(os.times()[:2]),
        "machine_busy": busy,
        "machine_total": total,
    }


def cpu_delta(before: dict[str, float], after: dict[str, float], wall: float) -> dict[str, Any]:
    """Cores used over ``wall`` seconds by the server, Postgres, this client, the machine."""
    cores: dict[str, Any] = {
        k: round((after[k] - before[k]) / wall, 2) for k in ("server", "postgres", "client")
    }
    cores["server_processes"] = sorted(
        (
            round((after[k] - before.get(k, 0.0)) / wall, 2)
            for k in after
            if k.startswith("server_process_")
        ),
        reverse=True,
    )
    total = after["machine_total"] - before["machine_total"]
    cores["machine"] = round(
        (after["machine_busy"] - before["machine_busy"]) / max(total, 1e-9) * (os.cpu_count() or 1),
        2,
    )
    # everything else on the machine: other people's work, the kernel, Postgres for others
    cores["others"] = round(
        max(0.0, cores["machine"] - cores["server"] - cores["postgres"] - cores["client"]), 2
    )
    return cores


# -- driving the server -------------------------------------------------------------------------


def customer_client(server: Server, user: str) -> Any:
    """``server.client`` for a customer, sharing one TLS context among all the clients.

    ``get_client`` builds a TLS context (loads the CA store) per client: ~20 ms of CPU,
    5 ms per turn of a 4-turn conversation, spent on the two cores the server is measured
    on. The client is otherwise the same (``httpx.AsyncClient``, 5 retries, same timeouts).
    """
    import httpx
    from langgraph_sdk.client import LangGraphClient

    return LangGraphClient(
        httpx.AsyncClient(
            base_url=server.url,
            transport=httpx.AsyncHTTPTransport(retries=5, verify=_TLS),
            timeout=httpx.Timeout(connect=5, read=300, write=300, pool=5),
            headers={"Authorization": f"Bearer {token(user, TENANT)}"},
        )
    )


def _last_ai(values: Any) -> str | None:
    if not isinstance(values, dict):
        return None
    messages = values.get("messages") or []
    if messages and isinstance(messages[-1], dict) and messages[-1].get("type") == "ai":
        return str(messages[-1].get("content", ""))
    return None


async def turn(client: Any, thread_id: str, question: str, mode: str) -> None:
    """One turn; raises when the server's answer is not an AI reply to ``question``."""
    payload = {"messages": [{"role": "user", "content": question}]}
    if mode == "stream":
        values: Any = None
        async for part in client.runs.stream(thread_id, GRAPH, input=payload, stream_mode="values"):
            if part.event == "error":
                raise RuntimeError(f"stream error: {str(part.data)[:150]}")
            if part.event == "values":
                values = part.data
    else:
        values = await client.runs.wait(thread_id, GRAPH, input=payload)
    if _last_ai(values) is None:
        raise RuntimeError(f"no AI reply in the result: {str(values)[:150]}")
    humans = [m for m in values["messages"] if m.get("type") == "human"]
    if not humans or humans[-1].get("content") != question:
        raise RuntimeError("the reply is not to this turn's question")


async def drive(
    server: Server, convs: list[Conv], level: int, mode: str, timeout: float = 120
) -> dict[str, Any]:
    """Run ``convs`` with ``level`` of them in flight; each a new customer and thread."""
    queue: asyncio.Queue[Conv] = asyncio.Queue()
    for conv in convs:
        queue.put_nowait(conv)
    latencies: list[float] = []
    errors: list[str] = []
    threads: list[tuple[Conv, str]] = []

    async def worker() -> None:
        while not queue.empty():
            conv = queue.get_nowait()
            client = customer_client(server, conv.user)
            try:
                try:
                    thread_id = (await client.threads.create())["thread_id"]
                except Exception as error:  # counted, never hidden
                    errors.append(f"threads.create {type(error).__name__}: {error}"[:200])
                    continue
                threads.append((conv, thread_id))
                for question in conv.questions:
                    started = time.perf_counter()
                    try:
                        await asyncio.wait_for(turn(client, thread_id, question, mode), timeout)
                    except Exception as error:
                        errors.append(f"{type(error).__name__}: {error}"[:200])
                        continue
                    latencies.append((time.perf_counter() - started) * 1000)
            finally:
                await client.http.client.aclose()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(level)))
    wall = time.perf_counter() - started
    return {
        "level": level,
        "turns": len(latencies),
        "wall_s": round(wall, 2),
        "turns_per_s": round(len(latencies) / wall, 2),
        "latency_ms": summary(latencies),
        "errors": len(errors),
        "error_examples": sorted(set(errors))[:3],
        "_threads": threads,
    }


async def verify(server: Server, threads: list[tuple[Conv, str]]) -> dict[str, Any]:
    """Each thread's state: its questions in order, each followed by exactly one AI reply."""
    lost = duplicated = bad_order = unreadable = 0
    examples: list[str] = []
    semaphore = asyncio.Semaphore(8)

    async def check(conv: Conv, thread_id: str) -> None:
        nonlocal lost, duplicated, bad_order, unreadable
        client = customer_client(server, conv.user)
        try:
            async with semaphore:
                state = await client.threads.get_state(thread_id)
        except Exception as error:
            unreadable += 1
            examples.append(f"{thread_id}: get_state {type(error).__name__}")
            return
        finally:
            await client.http.client.aclose()
        messages = (state.get("values") or {}).get("messages") or []
        humans = [str(m.get("content")) for m in messages if m.get("type") == "human"]
        for question in conv.questions:
            seen = humans.count(question)
            lost += seen == 0
            duplicated += max(0, seen - 1)
        duplicated += sum(1 for h in humans if h not in conv.questions)
        kinds = [m.get("type") for m in messages]
        expected = ["human", "ai"] * len(conv.questions)
        if humans == conv.questions and kinds != expected:
            bad_order += 1  # a question without its one reply, or a reply twice
            examples.append(f"{thread_id}: {kinds}")
        elif humans != conv.questions and len(examples) < 5:
            examples.append(f"{thread_id}: {len(humans)} questions of {len(conv.questions)}")

    await asyncio.gather(*(check(conv, thread_id) for conv, thread_id in threads))
    return {
        "threads_checked": len(threads),
        "lost_messages": lost,
        "duplicated_messages": duplicated,
        "threads_without_one_reply_per_question": bad_order,
        "threads_unreadable": unreadable,
        "state_examples": examples[:5],
    }


def _wait_for_workers(server: Server, workers: int, timeout: float = 240) -> None:
    """Wait until every worker process has finished its start-up (and warmed the model).

    uvicorn logs each worker's start-up at INFO; with a quieter ``LOG_LEVEL``, the server's
    processes are taken as started once they are all there and their CPU time stops growing.
    """
    pid = _server_pid(int(server.url.rsplit(":", 1)[1]))
    deadline = time.monotonic() + timeout
    last, quiet = -1.0, 0
    while time.monotonic() < deadline:
        if server.read_log().count("Application startup complete") >= workers:
            return
        procs = _processes()
        family = _family(pid, procs) if pid else set()
        cpu = sum(procs[p][1] for p in family if p in procs)
        quiet = quiet + 1 if cpu - last < 0.05 and len(family) > workers - (workers == 1) else 0
        if quiet >= 4:
            return
        last = cpu
        time.sleep(0.5)
    raise RuntimeError(f"only some of {workers} workers started:\n{server.read_log()[-3000:]}")


async def warm_up(server: Server, workers: int, seed: int) -> None:
    """Enough concurrent conversations that every worker has searched the KB and remembered."""
    convs = conversations(8 * workers, 2, seed + 1000, "warm")
    row = await drive(server, convs, 4 * workers, "wait")
    if row["errors"]:
        console.print(f"[yellow]warm-up errors: {row['error_examples']}")


def reference_config() -> Path:
    """``aegra.json`` with the reference graph (``bench/reference_served.py``) as the graph."""
    config = json.loads((ROOT / "aegra.json").read_text())
    config["dependencies"] = [str(ROOT)]
    config["graphs"] = {GRAPH: str(ROOT / "bench" / "reference_served.py") + ":graph"}
    for key, entry in (("auth", "path"), ("http", "app")):
        config[key][entry] = str(ROOT / config[key][entry])
    path = WORK / "reference-aegra.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2))
    return path


def server_env(workers: int, args: argparse.Namespace) -> dict[str, str]:
    env = {"WEB_CONCURRENCY": str(workers), "LOG_LEVEL": args.log_level}
    if args.graph == "reference":
        env.update(AEGRA_CONFIG=str(reference_config()), SUPPORT_REFERENCE_TENANT=TENANT)
    if args.torch_threads != "default":
        threads = (
            str(max(1, (os.cpu_count() or 1) // workers))
            if args.torch_threads == "per-core"
            else args.torch_threads
        )
        env.update(OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
    if workers > 1:
        env["SUPPORT_REDIS_URL"] = args.redis
    for item in args.server_env:
        key, _, value = item.partition("=")
        env[key] = value
    return env


async def measure_server(
    db_url: str, data_dir: Path, workers: int, args: argparse.Namespace, round_no: int
) -> dict[str, Any]:
    env = server_env(workers, args)
    log_path = Path(tempfile.mkdtemp()) / f"aegra-{workers}.log"
    rows = []
    quiet = wait_for_quiet(args.max_load, args.max_busy, args.load_wait)
    with serve("aegra", data_dir, log_path, database_url=db_url, **env) as server:
        _wait_for_workers(server, workers)
        port = int(server.url.rsplit(":", 1)[1])
        pid = _server_pid(port)
        await warm_up(server, workers, args.seed)
        for level in args.levels:
            count = max(level, -(-args.turns // args.conv_turns))
            seed = args.seed + 17 * level + 1000 * round_no
            convs = conversations(count, args.conv_turns, seed, f"w{workers}l{level}")
            backends: dict[int, float] = {}
            before = cpu_snapshot(pid, backends)
            row = await drive(server, convs, level, args.mode, args.turn_timeout)
            after = cpu_snapshot(pid, backends)
            row["cpu_cores"] = cpu_delta(before, after, row["wall_s"])
            row["server_cpu_ms_per_turn"] = round(
                (after["server"] - before["server"]) * 1000 / max(1, row["turns"]), 1
            )
            row["postgres_cpu_ms_per_turn"] = round(
                (after["postgres"] - before["postgres"]) * 1000 / max(1, row["turns"]), 1
            )
            row["client_cpu_ms_per_turn"] = round(
                (after["client"] - before["client"]) * 1000 / max(1, row["turns"]), 1
            )
            row.update(await verify(server, row.pop("_threads")))
            row["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
            rows.append(row)
            console.print(
                f"{workers} worker(s), {level} conversations: {row['turns_per_s']} turns/s, "
                f"p50 {row['latency_ms']['p50']:.0f} ms, p95 {row['latency_ms']['p95']:.0f} ms, "
                f"errors {row['errors']}, lost {row['lost_messages']}, "
                f"duplicated {row['duplicated_messages']}, cores {row['cpu_cores']}, "
                f"server CPU {row['server_cpu_ms_per_turn']} ms/turn"
            )
        log = server.read_log()
    return {
        "workers": workers,
        "round": round_no,
        "server_env": env,
        "quiet_before": quiet,
        "log_errors": sum(
            1 for line in log.splitlines() if " error " in line.lower() or "Traceback" in line
        ),
        "levels": rows,
    }


def busy_cores(seconds: float = 3.0) -> float:
    """Cores the whole machine kept busy over the next ``seconds`` (this process idle)."""
    busy, total = _machine_busy()
    time.sleep(seconds)
    busy2, total2 = _machine_busy()
    return (busy2 - busy) / max(total2 - total, 1e-9) * (os.cpu_count() or 1)


def wait_for_quiet(max_load: float, max_busy: float, seconds: float) -> dict[str, Any]:
    """Wait (up to ``seconds``) until the load average and the machine's busy cores are low."""
    deadline = time.monotonic() + seconds
    started = time.monotonic()
    busy = busy_cores()
    while (os.getloadavg()[0] > max_load or busy > max_busy) and time.monotonic() < deadline:
        console.print(f"load {os.getloadavg()[0]:.2f}, {busy:.2f} cores busy: waiting")
        time.sleep(10)
        busy = busy_cores()
    return {
        "load_avg": [round(x, 2) for x in os.getloadavg()],
        "busy_cores": round(busy, 2),
        "waited_s": round(time.monotonic() - started, 1),
    }


def summarise(result: dict[str, Any], levels: list[int]) -> None:
    """Medians over rounds, totals, the speedup and the CPU ceiling, into ``result``.

    The ceiling: two cores running the server, Postgres and this client and nothing else
    allow ``2000 / (server + Postgres + client ms per turn)`` turns/s. Over what one worker
    measured, that is the most two workers can give over one on this machine, whatever
    else the machine is doing. (One worker is *about* one core, ``1000 / server ms``, but
    the model's thread can take it a little over.)
    """
    by: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for server_run in result["runs"]:
        for row in server_run["levels"]:
            by.setdefault((server_run["workers"], row["level"]), []).append(row)
    turns_per_s: dict[str, dict[str, float]] = {}
    for (workers, level), rows in sorted(by.items()):
        turns_per_s.setdefault(str(workers), {})[str(level)] = round(
            statistics.median(r["turns_per_s"] for r in rows), 2
        )
    result["turns_per_s"] = turns_per_s
    totals = [r for rows in by.values() for r in rows]
    for key in (
        "errors",
        "lost_messages",
        "duplicated_messages",
        "threads_without_one_reply_per_question",
        "threads_unreadable",
    ):
        result[key] = sum(r[key] for r in totals)
    top = str(max(levels))
    one, two = turns_per_s.get("1", {}).get(top), turns_per_s.get("2", {}).get(top)
    result["speedup_level"] = int(top)
    result["speedup_2_workers"] = round(two / one, 2) if one and two else None
    ones = by.get((1, int(top)), [])
    if ones:
        server = statistics.median(r["server_cpu_ms_per_turn"] for r in ones)
        postgres = statistics.median(r["postgres_cpu_ms_per_turn"] for r in ones)
        client = statistics.median(r["client_cpu_ms_per_turn"] for r in ones)
        cores = result["machine"]["nproc"] or 1
        lone = 1000 / server
        ceiling = cores * 1000 / (server + postgres + client)
        result["cpu_ceiling"] = {
            "server_cpu_ms_per_turn": server,
            "postgres_cpu_ms_per_turn": postgres,
            "client_cpu_ms_per_turn": client,
            "one_worker_turns_per_s_at_one_full_core": round(lone, 2),
            f"turns_per_s_with_{cores}_cores_busy_on_server_postgres_client": round(ceiling, 2),
            "max_speedup_2_workers": round(min(2.0, ceiling / one), 2) if one else None,
        }
    result["others_cores_median"] = round(
        statistics.median(r["cpu_cores"]["others"] for r in totals), 2
    )
    result["target_met"] = bool(
        result["speedup_2_workers"] is not None
        and result["speedup_2_workers"] >= 1.8
        and not result["errors"]
        and not result["lost_messages"]
        and not result["duplicated_messages"]
    )


async def run(args: argparse.Namespace) -> dict[str, Any]:
    info = machine()
    info["quiet_at_start"] = wait_for_quiet(args.max_load, args.max_busy, args.load_wait)
    result: dict[str, Any] = {
        "machine": info,
        "setting": (
            "Aegra 0.6 (uvicorn aegra_api.main:app, AEGRA_CONFIG="
            f"{'aegra.json' if args.graph == 'agent' else 'aegra.json with the reference graph'})"
            " on Postgres, "
            "LLM-free, tau2 KB (tenant bench-tau2), langgraph-sdk clients with HS256 tokens, "
            "one client and thread per conversation; Redis (SUPPORT_REDIS_URL) with 2 workers"
        ),
        "graph": (
            "the agent (graph/server/served.py)"
            if args.graph == "agent"
            else "the reference graph (bench/reference_served.py): the agent's steps, every "
            "node empty but the search, which does the floor's work (encode + Chroma query)"
        ),
        "mode": f"runs.{args.mode}",
        "turns_per_level": args.turns,
        "turns_per_conversation": args.conv_turns,
        "target": "2 workers >= 1.8x the turns/s of 1 worker at 32 conversations, "
        "0 errors, 0 lost or duplicated messages",
        "runs": [],
    }
    async with bench_database(args.postgres, DB_NAME) as db:
        data_dir = WORK / "perf-server"
        services = await perf_services(perf_settings(db, data_dir))
        await services.aclose()
        for round_no in range(args.rounds):
            for workers in args.workers:
                result["runs"].append(
                    await measure_server(db.libpq, data_dir, workers, args, round_no)
                )
    result["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]

    summarise(result, args.levels)
    turns_per_s = result["turns_per_s"]
    top = str(max(args.levels))
    console.print(
        table(
            f"Aegra turns/s (runs.{args.mode}, median of {args.rounds} round(s))",
            ["workers", *[f"{level} conv." for level in args.levels]],
            [[w, *[turns_per_s[w].get(str(lv)) for lv in args.levels]] for w in turns_per_s],
        )
    )
    console.print(
        f"speedup 2 workers / 1 at {top} conversations: {result['speedup_2_workers']}; "
        f"errors {result['errors']}, lost {result['lost_messages']}, "
        f"duplicated {result['duplicated_messages']}"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="1,8,32", help="conversations in flight")
    parser.add_argument("--workers", default="1,2", help="Aegra worker processes")
    parser.add_argument("--turns", type=int, default=128, help="turns per level (at least)")
    parser.add_argument("--conv-turns", type=int, default=4, help="questions per conversation")
    parser.add_argument("--mode", choices=("wait", "stream"), default="wait")
    parser.add_argument(
        "--graph",
        choices=("agent", "reference"),
        default="agent",
        help="serve the agent, or the reference graph (writes server_reference.json)",
    )
    parser.add_argument("--rounds", type=int, default=2, help="repeat 1 then 2 workers")
    parser.add_argument(
        "--torch-threads",
        default="1",
        help="OMP_NUM_THREADS per worker: N, 'per-core' (cores / workers) or 'default' (unset)",
    )
    parser.add_argument("--log-level", default="WARNING", help="Aegra's LOG_LEVEL")
    parser.add_argument(
        "--server-env", action="append", default=[], help="KEY=VALUE for the server, repeatable"
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/9")
    parser.add_argument("--seed", type=int, default=23)
    parser.add_argument("--max-load", type=float, default=1.5)
    parser.add_argument(
        "--max-busy", type=float, default=0.5, help="cores others may keep busy before we start"
    )
    parser.add_argument("--load-wait", type=float, default=30, help="seconds to wait for quiet")
    parser.add_argument("--turn-timeout", type=float, default=120)
    parser.add_argument("--postgres", default=ADMIN_URL, help=f"admin URL (database {DB_NAME})")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    args.levels = [int(x) for x in args.levels.split(",")]
    args.workers = [int(x) for x in args.workers.split(",")]
    name = "server" if args.graph == "agent" else "server_reference"
    write_result(name, asyncio.run(run(args)), args.out)


if __name__ == "__main__":
    main()
