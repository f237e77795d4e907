"""Memory benchmarks: semantic-dedup precision/recall, and recall latency at 10,000 memories.

Plain script (run by hand or `make bench`); prints tables, writes bench/results/memory.json.

Dedup set: tests/data/memory_pairs.jsonl, 40 pairs written for this project: 20
paraphrases of customer facts and problems, each with a "hard negative" that keeps the
template and changes the one detail that matters (product, error code, channel, ...).
A pair is predicted "same" when cosine >= threshold and the pair names the same
numbers and codes (``same_values``), exactly as ``MemoryStore`` decides.

Latency: 10,000 memories for one user (plus 2,000 for another, to prove the filter),
then ``MemoryStore.recall`` for 200 queries, on SQLite and on Postgres, with the per-user
recall cache off (``memory_cache_max_memories=0``: every recall reads and decodes all the
user's rows, as before the cache existed) and on (a fingerprint query per recall; the rows
are read once). "first" is the first recall of the run, which fills the cache. The
Postgres database is created for the run and dropped after it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from state import Memory, Settings  # noqa: E402
from tools.embeddings.sentence import SentenceEmbeddings  # noqa: E402
from tools.memory.writes import same_values  # noqa: E402
from tools.services import create_services  # noqa: E402

console = Console()


def dedup(embeddings: SentenceEmbeddings) -> dict:
    pairs = [json.loads(line) for line in (ROOT / "tests/data/memory_pairs.jsonl").open()]
    va = np.asarray(embeddings.embed_queries([p["a"] for p in pairs]))
    vb = np.asarray(embeddings.embed_queries([p["b"] for p in pairs]))
    cosine = (va * vb).sum(1)
    labels = np.array([p["same"] for p in pairs])
    guard = np.array([same_values(p["a"], p["b"]) for p in pairs])
    rows = {}
    for threshold in (0.70, 0.75, 0.80, 0.85, 0.90):
        predicted = (cosine >= threshold) & guard
        tp = int((predicted & labels).sum())
        fp = int((predicted & ~labels).sum())
        fn = int((~predicted & labels).sum())
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn)
        rows[threshold] = {
            "precision": round(precision, 3),
            "recall": round(recall, 3),
            "false_merges": fp,
        }
    table = Table(title=f"Semantic dedup on {len(pairs)} labelled pairs ({labels.sum()} same)")
    for column in ("threshold", "precision", "recall", "false merges"):
        table.add_column(column, justify="right")
    for threshold, row in rows.items():
        table.add_row(
            f"{threshold:.2f}",
            f"{row['precision']:.3f}",
            f"{row['recall']:.3f}",
            str(row["false_merges"]),
        )
    console.print(table)
    return {str(k): v for k, v in rows.items()}


async def latency(
    name: str, settings: Settings, embeddings: SentenceEmbeddings, n: int, cache: bool
) -> dict:
    settings = settings.model_copy(update={"memory_cache_max_memories": 100_000 if cache else 0})
    services = await create_services(settings, embeddings=embeddings)
    store = services.memory
    rng = np.random.default_rng(7)
    user = f"bench-{uuid.uuid4().hex[:6]}"
    loads = store.cache_loads
    now = datetime.now(UTC)
    async with services.sessions() as session, session.begin():
        for owner, count in ((user, n), (f"{user}-other", 2000)):
            vectors = rng.normal(size=(count, 384)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            session.add_all(
                Memory(
                    tenant_id="bench",
                    user_id=owner,
                    kind="fact",
                    slot=None,
                    content=f"synthetic memory {i}",
                    content_hash=f"{owner}-{i}",
                    embedding=vectors[i].tobytes(),
                    importance=float(rng.uniform(0.2, 1)),
                    created_at=now,
                    last_accessed_at=now,
                    access_count=0,
                )
                for i in range(count)
            )
    queries = [f"question number {i} about my plan" for i in range(200)]
    await services.executor.run(embeddings.embed_queries, queries)  # cache: time the store
    samples = []
    for query in queries:
        start = time.perf_counter()
        got = await store.recall("bench", user, query, 5)
        samples.append((time.perf_counter() - start) * 1000)
        assert len(got) <= 5
    loads = store.cache_loads - loads
    await services.aclose()
    return {
        "backend": name,
        "cache": cache,
        "memories": n,
        "first_ms": round(samples[0], 1),
        "median_ms": round(statistics.median(samples), 1),
        "p95_ms": round(sorted(samples)[int(0.95 * len(samples))], 1),
        "row_loads": loads,
    }


async def main(args: argparse.Namespace) -> dict:
    embeddings = SentenceEmbeddings()
    result = {"dedup": dedup(embeddings), "recall_latency": []}
    data = ROOT / "bench" / ".data" / f"memory-{uuid.uuid4().hex[:6]}"
    backends = [("SQLite", Settings(_env_file=None, data_dir=data))]
    database = ""
    if args.postgres:
        import psycopg

        name = database = f"bench_memory_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(args.postgres, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        base = args.postgres.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        backends.append(
            ("Postgres", Settings(_env_file=None, data_dir=data, database_url=f"{base}/{name}"))
        )
    for name, settings in backends:
        for cache in (False, True):
            result["recall_latency"].append(
                await latency(name, settings, embeddings, args.n, cache)
            )
    if database:
        import psycopg

        with psycopg.connect(args.postgres, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    table = Table(title=f"recall() latency, {args.n:,} memories for one user, 200 queries, k=5")
    for column in ("backend", "recall cache", "first ms", "median ms", "p95 ms", "row loads"):
        table.add_column(column, justify="right")
    for row in result["recall_latency"]:
        table.add_row(
            row["backend"],
            "on" if row["cache"] else "off",
            f"{row['first_ms']:.1f}",
            f"{row['median_ms']:.1f}",
            f"{row['p95_ms']:.1f}",
            str(row["row_loads"]),
        )
    console.print(table)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument(
        "--postgres",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="admin URL; a fresh database is created (empty string: skip)",
    )
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "memory.json"))
    args = parser.parse_args()
    result = asyncio.run(main(args))
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    console.print(f"wrote {args.out}  (command: {' '.join(sys.argv)})")
