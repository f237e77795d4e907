"""Shared pieces of the performance benchmarks (turns, concurrency, ingest, checkpoints).

Not a test helper and not imported by the package: plain functions the bench scripts
share so that each of them measures the same way.

- ``bench_database``: a Postgres database of our own, dropped and recreated per run (never
  the ``test`` or ``postgres`` databases other work uses), dropped again at the end.
- ``perf_services``: services on that database (application tables, memory) with the tau2
  banking KB ingested. Chunk vectors of earlier runs are reused from a file under
  ``bench/.data`` so setting up costs seconds, not the minute of embedding; the query
  path is never cached by this (``bench/ingest.py`` measures ingestion without it).
- ``floor_sample``: the floor the turn is compared with, one bare query embedding
  (``model.encode``, no cache) plus one bare vector query on the same Chroma collection.
- ``workload``: varied questions (BANKING77 test questions, tau2 task goals) grouped into
  threads of one to five turns, with follow-ups and stated facts for the memory node.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import platform
import random
import re
import statistics
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from state import Settings  # noqa: E402
from tools.embeddings.sentence import SentenceEmbeddings  # noqa: E402
from tools.services import Services, create_services  # noqa: E402

DATA = (ROOT / ".." / "shared" / "data").resolve()
TAU2 = DATA / "tau2_banking_knowledge"
BANKING77 = DATA / "banking77"
RESULTS = ROOT / "bench" / "results"
WORK = ROOT / "bench" / ".data"
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
TENANT = "bench-tau2"

console = Console(width=160)


def machine() -> dict[str, Any]:
    """CPU, core count, torch threads, Python: what the figures were measured on."""
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch

    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def pct(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear interpolation; 0 for no samples."""
    if not samples:
        return 0.0
    return float(np.percentile(np.asarray(samples, dtype=float), q))


def summary(samples: Sequence[float]) -> dict[str, float]:
    """n, mean, p50, p95, p99 (same unit as the samples), rounded."""
    return {
        "n": len(samples),
        "mean": round(statistics.fmean(samples), 3) if samples else 0.0,
        "p50": round(pct(samples, 50), 3),
        "p95": round(pct(samples, 95), 3),
        "p99": round(pct(samples, 99), 3),
    }


def table(title: str, columns: list[str], rows: list[list[Any]]) -> Table:
    """A rich table: first column left-aligned, floats with up to three decimals."""
    t = Table(title=title, title_justify="left")
    for i, c in enumerate(columns):
        t.add_column(c, justify="left" if i == 0 else "right", no_wrap=i == 0)
    for r in rows:
        t.add_row(*[f"{v:,.3g}" if isinstance(v, float) else str(v) for v in r])
    return t


def write_result(name: str, result: dict[str, Any], out: Path | None = None) -> Path:
    """Write ``bench/results/<name>.json`` (atomically) with the command and the time."""
    result = {
        "command": " ".join([".venv/bin/python", *sys.argv]),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        **result,
    }
    path = out or RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2, default=str) + "\n")
    tmp.replace(path)
    console.print(f"wrote {path}")
    return path


# -- Postgres ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchDatabase:
    """URLs of the benchmark's own database."""

    name: str
    libpq: str
    sqlalchemy: str


@asynccontextmanager
async def bench_database(admin_url: str, name: str) -> AsyncIterator[BenchDatabase]:
    """Drop and recreate database ``name`` (never ``test``/``postgres``); drop it on exit."""
    import psycopg

    if not re.fullmatch(r"bench_[a-z0-9_]+", name):
        raise ValueError("benchmark databases are named bench_*")

    def run(sql: str) -> None:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql)

    run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    run(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0]
    try:
        yield BenchDatabase(
            name,
            f"{base}/{name}",
            f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1),
        )
    finally:
        run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def perf_settings(db: BenchDatabase, data_dir: Path, **overrides: Any) -> Settings:
    """Production-like settings: Postgres checkpointer and application tables, LLM-free."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "database_url": db.sqlalchemy,
        "checkpointer": "postgres",
        "postgres_url": db.libpq,
        "llm_model": None,
        **overrides,
    }
    return Settings(_env_file=None, **values)


# -- the tau2 knowledge base, set up quickly ------------------------------------------------------


class _ReusedChunkVectors(SentenceEmbeddings):
    """Document embeddings from earlier runs (keyed by text hash); queries are never cached here.

    Only for setting up the KB of the latency benchmarks: ``bench/ingest.py`` times
    ingestion with the plain ``SentenceEmbeddings``.
    """

    def __init__(self, path: Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._file = path
        self._saved: dict[str, list[float]] = {}
        if path.exists():
            data = np.load(path)
            self._saved = {
                k: v.tolist() for k, v in zip(data["keys"].tolist(), data["vectors"], strict=True)
            }

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        keys = [hashlib.sha256(t.encode()).hexdigest() for t in texts]
        missing = [t for t, k in zip(texts, keys, strict=True) if k not in self._saved]
        if missing:
            for text, vector in zip(missing, super().embed_documents(missing), strict=True):
                self._saved[hashlib.sha256(text.encode()).hexdigest()] = vector
            self._file.parent.mkdir(parents=True, exist_ok=True)
            np.savez(
                self._file,
                keys=np.array(list(self._saved)),
                vectors=np.array(list(self._saved.values()), dtype=np.float32),
            )
        return [self._saved[k] for k in keys]


async def perf_services(settings: Settings, *, fresh_chroma: bool = True) -> Services:
    """Services on ``settings`` with the tau2 KB ingested into ``TENANT``, model warm."""
    import shutil

    if fresh_chroma:  # with its manifest: an old manifest would skip every document
        shutil.rmtree(settings.chroma_path, ignore_errors=True)
        if settings.database_url is None:
            (settings.data_dir / "support.db").unlink(missing_ok=True)
    embeddings = _ReusedChunkVectors(
        WORK / "tau2-chunk-vectors.npz",
        model_path=settings.embedding_model_path,
        batch_size=settings.embedding_batch_size,
        cache_size=settings.query_cache_size,
    )
    services = await create_services(settings, embeddings=embeddings)
    report = await services.kb.ingest([TAU2 / "documents"], TENANT)
    if report.failed:
        console.print(f"[yellow]ingest failures: {report.failed[:3]}")
    await services.kb.warm_up(TENANT)
    return services


def floor_sample(services: Services, query: str, tenant: str = TENANT) -> float:
    """Milliseconds for one bare query embedding plus one bare vector query (blocking).

    The same model, the same Chroma collection and the same number of results the
    turn's search asks for; no cache, no executor, no fusion, no database.
    """
    model = services.embeddings.model
    started = time.perf_counter()
    vector = model.encode(
        [query], normalize_embeddings=True, show_progress_bar=False, convert_to_numpy=True
    )
    services.kb.chroma.query_blocking(
        tenant, vector, services.settings.candidate_k, ["documents", "metadatas", "distances"]
    )
    return (time.perf_counter() - started) * 1000


# -- workload ----------------------------------------------------------------------------------

_FOLLOW_UPS = (
    "How long does that take?",
    "Is there a fee for that?",
    "What if that doesn't work?",
    "Can I do it in the app?",
    "And what about abroad?",
)
_FACTS = (
    "I'm on the Premium plan. ",
    "I'm on the Basic plan. ",
    "My order number is LH-{n}. ",
    "I use the Mobile app version 4.{n}.1 and ",
    "",
    "",
    "",
)


@dataclass(frozen=True)
class Conversation:
    """A thread: its customer and their messages, in order."""

    thread_id: str
    user_id: str
    messages: list[str]


def _banking77_questions() -> list[str]:
    with (BANKING77 / "test.csv").open(newline="") as fh:
        rows = [" ".join(r["text"].split()) for r in csv.DictReader(fh)]
    return list(dict.fromkeys(rows))


def _tau2_goals() -> list[str]:
    goals = []
    for f in sorted((TAU2 / "tasks").glob("*.json")):
        text = json.loads(f.read_text())["user_scenario"]["instructions"]
        if isinstance(text, dict):
            text = json.dumps(text)
        for sentence in re.split(r"(?<=[.!?])\s+|\n+", text):
            sentence = re.sub(r"\*\*[^*]+:\*\*\s*", "", sentence).strip()
            if re.search(r"\b(want|need|would like|trying to|help)\b", sentence, re.I) and (
                8 <= len(sentence.split()) <= 40
            ):
                goals.append(sentence)
                break
    return goals


def workload(turns: int, seed: int = 7, prefix: str = "t") -> list[Conversation]:
    """Threads of 1-5 turns totalling at least ``turns``; every question distinct.

    About a third of the first messages state a fact the memory node stores (plan,
    order number, app version); a fifth of later turns are short follow-ups whose
    query carries the previous message.
    """
    rng = random.Random(seed)
    questions = _banking77_questions() + _tau2_goals()
    rng.shuffle(questions)
    pool = iter(questions)
    out: list[Conversation] = []
    total = 0
    n = 0
    while total < turns:
        length = min(rng.randint(1, 5), turns - total) or 1
        messages: list[str] = []
        for i in range(length):
            if i and rng.random() < 0.2:
                messages.append(rng.choice(_FOLLOW_UPS))
                continue
            text = next(pool)
            if i == 0:
                text = rng.choice(_FACTS).format(n=1000 + n) + text
            messages.append(text)
        user = f"customer-{n % max(1, turns // 8)}"  # some customers return with a new thread
        out.append(Conversation(f"{prefix}-{n}", user, messages))
        total += length
        n += 1
    return out


def sample_kb_data_dir() -> Path:
    """A new data directory with ``sample_kb/`` ingested through the command line."""
    import subprocess
    import sys
    import tempfile

    data = Path(tempfile.mkdtemp()) / "data"
    subprocess.run(
        [str(Path(sys.executable).with_name("support-agent")), "kb", "ingest", "sample_kb"],
        cwd=Path(__file__).resolve().parents[1],
        env={"SUPPORT_DATA_DIR": str(data), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"},
        check=True,
        capture_output=True,
    )
    return data
