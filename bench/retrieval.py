"""Retrieval benchmark for the knowledge base: ingest speed, dense / BM25 / fusion quality, OOS.

Run from the project root::

    .venv/bin/python bench/retrieval.py            # reuse bench/.data (fast)
    .venv/bin/python bench/retrieval.py --fresh    # wipe it first: measures ingest throughput

What it measures (data from ``../shared/data``, see its README):

1. Ingest throughput (fresh data dir only): tau2 banking (698 help documents, long chunks)
   and BANKING77 (one short question per document), each against raw ``model.encode`` on
   the very same texts.
2. tau2's 97 tasks, gold = ``required_documents``, three query variants: the full
   ``user_scenario.instructions``; its first 300 characters (the brief's "opening line"
   stand-in, in practice mostly the persona blurb); and the first sentence stating the
   customer's goal (regex heuristic, 79 tasks have one). hit@5, recall@10, MRR@10 for
   dense / bm25 / rrf / adaptive.
3. FAQ-style collections where BM25 is weak: BANKING77 (20 train questions per intent as
   the KB, 10 test questions per intent as queries, 10 more held out) and CLINC150 in-scope
   (10 per intent as the KB, 5 test queries per intent, 5 ``val`` queries held out).
   hit@1, hit@5, MRR@10 at intent level.
4. Fusion tuning (exploration): the chunk rankings the real ``search`` fuses are captured once
   per query and the fusion is replayed offline for a grid of BM25-weight functions; the
   replay is checked to reproduce ``search`` exactly for every mode. The recommended
   function (``RECOMMENDED``) is then re-run through the real ``search``
   (``tools.knowledge_base.results.bm25_weight`` monkeypatched, in this process only) and checked on
   the held-out FAQ queries; ``ALTERNATIVE`` is shown by replay.
5. Out-of-scope separation on the tau2 KB: ``top_score`` of CLINC150 ``oos_test`` queries vs
   tau2 task instructions and BANKING77 questions; AUROC, share above the calibrated
   threshold, and the thresholds that would let 10% / 5% / 1% of the OOS queries through.

FAQ records are written as ``{"id": "<intent>--<n>", "title": "", "content": "# <question>"}``:
the question as a Markdown heading, so the stored chunk is exactly the question. Written as
plain ``content`` with an empty title (as first specified), the loader derives the title from
the id, i.e. the gold intent name, and the chunker prefixes it to the chunk: a label leak.
The ``banking77-plain`` row shows what that does (``--no-leak-check`` skips it).

Results: a table on stdout and ``bench/results/retrieval.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import math
import random
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

import tools.knowledge_base.results as kb_results  # noqa: E402
import tools.knowledge_base.search as kb_module  # noqa: E402
from evaluations.adapters import faq_split as shared_faq_split  # noqa: E402
from evaluations.adapters import goal_sentence  # noqa: E402
from evaluations.metrics import auroc, hit_at_k, recall_at_k, reciprocal_rank  # noqa: E402
from state import Settings  # noqa: E402
from tools.knowledge_base.fusion import bm25_weight as shipped_bm25_weight  # noqa: E402
from tools.knowledge_base.lexical import LexicalIndex, tokenize  # noqa: E402
from tools.knowledge_base.search import fusion_weights  # noqa: E402
from tools.services import Services, create_services  # noqa: E402

DATA = (ROOT / ".." / "shared" / "data").resolve()
TAU2 = DATA / "tau2_banking_knowledge"
BANKING77 = DATA / "banking77"
CLINC = DATA / "clinc150" / "data_full.json"
MODES = ("dense", "bm25", "rrf", "adaptive")
K = 10

console = Console(width=200)


# -- capture: record the rankings the real search fuses, to replay other weightings ------------

_CAPTURE: dict[str, Any] = {}
_orig_rrf = kb_module.weighted_rrf
_orig_lex_search = LexicalIndex.search


def _capturing_rrf(rankings: Any, weights: Any, k: int = 60) -> list[tuple[str, float]]:
    _CAPTURE["rankings"] = {name: list(r) for name, r in rankings.items()}
    _CAPTURE["weights"] = dict(weights)
    return _orig_rrf(rankings, weights, k)


def _capturing_lex_search(self: LexicalIndex, query: str, k: int) -> list[tuple[int, float]]:
    out = _orig_lex_search(self, query, k)
    _CAPTURE["bm25_scores"] = [s for _, s in out]
    return out


kb_module.weighted_rrf = _capturing_rrf  # passive: calls the original, records its input
LexicalIndex.search = _capturing_lex_search  # type: ignore[method-assign]


@dataclass
class Query:
    text: str
    gold: frozenset[str] | str
    """Gold doc ids (tau2) or the gold intent (FAQ: doc id prefix before ``--``)."""


@dataclass
class Captured:
    """Everything needed to replay the fusion of one query offline."""

    dense: list[str]
    bm25: list[str]
    bm25_scores: list[float]
    idf_mass: float
    known_terms: int
    tokens: int
    top_score: float
    threshold: float
    docs: dict[str, list[str]] = field(default_factory=dict)
    """Real ``search`` result (top-10 doc ids) per mode."""
    seconds: dict[str, float] = field(default_factory=dict)


def doc_of(chunk_id: str) -> str:
    return chunk_id.rsplit("::", 2)[0]


def replay(c: Captured, w_bm25: float, k: int = K) -> list[str]:
    """The doc order ``KnowledgeBase.search`` returns for these rankings and weights."""
    fused = _orig_rrf({"dense": c.dense, "bm25": c.bm25}, {"dense": 1.0, "bm25": w_bm25})
    out: list[str] = []
    seen: set[str] = set()
    for cid, _ in fused:
        d = doc_of(cid)
        if d not in seen:
            seen.add(d)
            out.append(d)
            if len(out) >= k:
                break
    return out


def replay_bm25(c: Captured, k: int = K) -> list[str]:
    """The doc order of ``mode="bm25"`` (dense weight 0: dense-only chunks fill in last)."""
    fused = _orig_rrf({"dense": c.dense, "bm25": c.bm25}, {"dense": 0.0, "bm25": 1.0})
    return list(dict.fromkeys(doc_of(x) for x, _ in fused))[:k]


# -- metrics (definitions: evaluations/metrics.py) ---------------------------------------------


def per_query(docs: Sequence[str], q: Query) -> dict[str, float]:
    """hit@1, hit@5 and MRR@10 (tau2: also recall@10) of one query's ranked doc ids.

    FAQ queries (gold = an intent) are scored on the intents of the retrieved records (the
    doc id before ``--``), tau2 queries on the doc ids. A query without gold docs scores 0.
    """
    if isinstance(q.gold, str):
        ranked, gold = [d.rpartition("--")[0] for d in docs[:K]], {q.gold}
    else:
        ranked, gold = list(docs[:K]), set(q.gold)
    m = {
        "hit@1": hit_at_k(ranked, gold, 1) or 0.0,
        "hit@5": hit_at_k(ranked, gold, 5) or 0.0,
        "mrr": reciprocal_rank(ranked, gold, K) or 0.0,
    }
    if not isinstance(q.gold, str):
        m["recall@10"] = recall_at_k(ranked, gold, K) or 0.0
    return m


def aggregate(rows: list[dict[str, float]]) -> dict[str, float]:
    """Each metric's mean over the queries, rounded to 4 places."""
    return {key: round(statistics.fmean(r[key] for r in rows), 4) for key in rows[0]}


# -- data --------------------------------------------------------------------------------------


def tau2_queries(variant: str = "full") -> list[Query]:
    """variant: "full" instructions, "300" (first 300 chars), "goal" (goal sentence, if any)."""
    out = []
    for f in sorted((TAU2 / "tasks").glob("*.json")):
        task = json.loads(f.read_text())
        text = task["user_scenario"]["instructions"]
        if isinstance(text, dict):  # some tau2 versions nest it
            text = json.dumps(text)
        if variant == "300":
            text = text[:300]
        elif variant == "goal":
            text = goal_sentence(text)
            if text is None:
                continue
        out.append(Query(text, frozenset(task["required_documents"])))
    return out


def _clean(text: str) -> str:
    return " ".join(text.split())


def faq_split(
    rows_train: list[tuple[str, str]],
    rows_test: list[tuple[str, str]],
    n_train: int,
    n_test: int,
    seed: int,
) -> tuple[list[tuple[str, str]], list[Query], list[Query]]:
    """(KB records (id, question), test queries, disjoint held-out queries) per intent."""
    records, test, held = shared_faq_split(rows_train, rows_test, n_train, n_test, seed)
    return records, [Query(q, c) for q, c in test], [Query(q, c) for q, c in held]


def write_jsonl(path: Path, records: list[tuple[str, str]], heading: bool) -> None:
    lines = [
        json.dumps({"id": rid, "title": "", "content": f"# {q}" if heading else q})
        for rid, q in records
    ]
    text = "\n".join(lines) + "\n"
    if not path.exists() or path.read_text() != text:  # unchanged file: incremental no-op
        path.write_text(text)


def load_banking77(seed: int, n_train: int, n_test: int):
    def read(name: str) -> list[tuple[str, str]]:
        with (BANKING77 / name).open(newline="") as fh:
            return [(r["text"], r["category"]) for r in csv.DictReader(fh)]

    return faq_split(read("train.csv"), read("test.csv"), n_train, n_test, seed)


def load_clinc(seed: int, n_train: int, n_test: int):
    data = json.loads(CLINC.read_text())
    records, test, _ = faq_split(data["train"], data["test"], n_train, n_test, seed)
    _, val, _ = faq_split(data["train"], data["val"], 0, n_test, seed + 1)
    return records, test, val, data["oos_test"]


# -- running the real search -------------------------------------------------------------------


async def run_queries(
    services: Services, tenant: str, queries: list[Query], modes: Sequence[str] = MODES
) -> list[Captured]:
    """Real ``search`` for every query and mode; the first mode's rankings are captured."""
    out = []
    for q in queries:
        cap: Captured | None = None
        for mode in modes:
            t0 = time.perf_counter()
            res = await services.kb.search(q.text, tenant, k=K, mode=mode)
            dt = time.perf_counter() - t0
            if cap is None:
                r = _CAPTURE["rankings"]
                cap = Captured(
                    dense=r["dense"],
                    bm25=r["bm25"],
                    bm25_scores=list(_CAPTURE.get("bm25_scores", [])),
                    idf_mass=sum(res.term_weights.values()),
                    known_terms=sum(1 for v in res.term_weights.values() if v > 0),
                    tokens=len(tokenize(q.text)),
                    top_score=res.top_score,
                    threshold=res.threshold,
                )
            cap.docs[mode] = [p["doc_id"] for p in res.passages]
            cap.seconds[mode] = dt
        assert cap is not None
        out.append(cap)
    return out


async def ingest(services: Services, paths: list[Path], tenant: str) -> dict[str, Any]:
    rep = await services.kb.ingest(paths, tenant)
    stats = await services.kb.stats(tenant)
    return {
        "tenant": tenant,
        "documents": stats["documents"],
        "chunks": stats["chunks"],
        "added": len(rep.added),
        "updated": len(rep.updated),
        "removed": len(rep.removed),
        "failed": rep.failed[:5],
        "failed_count": len(rep.failed),
        "chunks_embedded": rep.chunks_embedded,
        "seconds": round(rep.seconds, 2),
        "chunks_per_s": round(rep.chunks_embedded / rep.seconds, 2)
        if rep.chunks_embedded
        else None,
        "calibration": stats["calibration"],
    }


# -- candidate BM25-weight functions -----------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    name: str
    family: str
    fn: Callable[[Captured], float]
    idf_only: Callable[[float], float] | None = None
    """The same function of idf_mass alone: a drop-in for
    ``tools.knowledge_base.fusion.bm25_weight``."""


def _sat(scale: float, sat: float) -> Callable[[float], float]:
    def f(m: float) -> float:
        return 0.0 if m <= 0 else min(1.0, scale * m / (m + sat))

    return f


def _ramp(lo: float, hi: float, top: float = 1.0) -> Callable[[float], float]:
    def f(x: float) -> float:
        return top * min(1.0, max(0.0, (x - lo) / (hi - lo)))

    return f


def candidates() -> list[Candidate]:
    """The exploration grid. Only ``idf_only`` candidates are drop-ins for ``bm25_weight``."""
    out: list[Candidate] = []
    for scale in (1.0, 1.5):
        for sat in (12, 48, 192, 768):
            f = _sat(scale, sat)
            out.append(
                Candidate(
                    f"sat scale={scale} sat={sat}",
                    "saturation(idf_mass)",
                    lambda c, f=f: f(c.idf_mass),
                    f,
                )
            )
    for lo in (0, 10, 15, 20, 25, 30, 40, 60, 100, 150):
        for width in (10, 20, 40, 100):
            for top in (0.5, 1.0, 1.5, 2.0, 3.0):
                f = _ramp(lo, lo + width, top)
                out.append(
                    Candidate(
                        f"ramp idf {lo}->{lo + width} max={top}",
                        "ramp(idf_mass)",
                        lambda c, f=f: f(c.idf_mass),
                        f,
                    )
                )
    for lo in (4, 6, 8, 16, 32):
        for width in (4, 8, 32):
            f = _ramp(lo, lo + width)
            out.append(
                Candidate(
                    f"ramp terms {lo}->{lo + width}",
                    "ramp(known terms)",
                    lambda c, f=f: f(c.known_terms),
                )
            )
    for w in (0.0, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0):
        out.append(Candidate(f"const {w}", "constant", lambda c, w=w: w, lambda m, w=w: w))
    for t in (0.1, 0.25, 0.5, 1.0):

        def margin(c: Captured, t: float = t) -> float:
            s = c.bm25_scores
            if len(s) < 2 or s[1] <= 0:
                return 1.0 if s else 0.0
            return min(1.0, max(0.0, (s[0] / s[1] - 1.0) / t))

        out.append(Candidate(f"bm25 top1/top2 margin t={t}", "BM25 margin", margin))
    # dense confidence gate: BM25 only while the nearest chunk is not a near-paraphrase
    for c0, c1 in ((0.45, 0.75), (0.55, 0.75), (0.5, 0.8)):
        for top in (1.0, 2.0, 3.0):

            def gate(c: Captured, c0: float = c0, c1: float = c1, top: float = top) -> float:
                if c.idf_mass <= 0:
                    return 0.0
                return top * (1.0 - min(1.0, max(0.0, (c.top_score - c0) / (c1 - c0))))

            out.append(Candidate(f"cosine gate {c0}->{c1} max={top}", "gate(top cosine)", gate))
    return out


RECOMMENDED = "ramp idf 20->40 max=1.0"
"""The recommended ``bm25_weight``: 0 up to idf_mass 20, linear to 1.0 at 40 (``--recommend``)."""
ALTERNATIVE = "ramp idf 25->45 max=3.0"
"""Best under the strict "never below the best single retriever" rule, in-sample."""


# -- main --------------------------------------------------------------------------------------


def prepare_data_dir(data_dir: Path, fresh: bool) -> None:
    """Create the benchmark's data dir; wipe it first when ``fresh``."""
    if fresh and data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)


def table(title: str, columns: list[str], rows: list[list[Any]]) -> Table:
    t = Table(title=title, title_justify="left")
    for i, c in enumerate(columns):
        t.add_column(c, justify="left" if i == 0 else "right", no_wrap=i == 0)
    for r in rows:
        t.add_row(*[f"{v:.3f}" if isinstance(v, float) else str(v) for v in r])
    return t


DATASET_METRICS = {
    "tau2-full": ("hit@5", "recall@10", "mrr"),
    "tau2-300": ("hit@5", "recall@10", "mrr"),
    "tau2-goal": ("hit@5", "recall@10", "mrr"),
    "banking77": ("hit@1", "hit@5", "mrr"),
    "clinc150": ("hit@1", "hit@5", "mrr"),
    "banking77-plain": ("hit@1", "hit@5", "mrr"),
}
CRITERION = {
    "tau2-full": ("hit@5", "mrr"),
    "tau2-300": ("hit@5", "mrr"),
    "tau2-goal": ("hit@5", "mrr"),
    "banking77": ("hit@1", "hit@5", "mrr"),
    "clinc150": ("hit@1", "hit@5", "mrr"),
}
NOT_IN_WORST = frozenset({"tau2-300"})
"""Reported, but left out of the grid's ranking: a persona blurb, not a request."""
LABELS = {
    "tau2-full": "tau2 banking, query = full instructions (97 tasks)",
    "tau2-300": "tau2 banking, query = instructions cut to 300 chars ('opening line')",
    "tau2-goal": "tau2 banking, query = the customer's goal sentence "
    "(heuristic regex; tasks that have one)",
    "banking77": "BANKING77 FAQ-style (KB 20 q/intent, 770 test q)",
    "clinc150": "CLINC150 in-scope FAQ-style (KB 10 q/intent, 750 test q)",
    "banking77-plain": "BANKING77 as first specified (content = question, title '') - LEAKS intent",
}


def evaluate(caps: list[Captured], queries: list[Query], pick: Callable[[Captured], list[str]]):
    return aggregate([per_query(pick(c), q) for c, q in zip(caps, queries, strict=True)])


def paired_delta(caps, queries, a, b, metric) -> tuple[float, float]:
    """Mean and 95% half-width of the per-query difference a - b."""
    d = [
        per_query(a(c), q)[metric] - per_query(b(c), q)[metric]
        for c, q in zip(caps, queries, strict=True)
    ]
    sd = statistics.pstdev(d) if len(d) > 1 else 0.0
    return statistics.fmean(d), 1.96 * sd / math.sqrt(len(d))


# -- the run, one function per measured section ------------------------------------------------


@dataclass
class Run:
    """What every section of one benchmark run shares."""

    args: argparse.Namespace
    services: Services
    data_dir: Path
    result: dict[str, Any]
    """The JSON written at the end, filled section by section (key order = output order)."""
    timings: dict[str, float]


@dataclass
class FaqData:
    """The FAQ-style collections: KB records, test and held-out queries, CLINC150 oos_test."""

    b77_records: list[tuple[str, str]]
    b77_test: list[Query]
    b77_held: list[Query]
    cl_records: list[tuple[str, str]]
    cl_test: list[Query]
    cl_val: list[Query]
    oos_rows: list[list[str]]


@dataclass
class Rankings:
    """The captured rankings of every query set (all modes) and held-out set (adaptive)."""

    sets: dict[str, tuple[str, list[Query]]]
    caps: dict[str, list[Captured]]
    held_sets: dict[str, tuple[str, list[Query]]]
    held_caps: dict[str, list[Captured]]


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", type=Path, default=ROOT / "bench" / ".data")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "retrieval.json")
    ap.add_argument(
        "--fresh", action="store_true", help="wipe the data dir first (measures ingest)"
    )
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--b77-train", type=int, default=20)
    ap.add_argument("--b77-test", type=int, default=10)
    ap.add_argument("--clinc-train", type=int, default=10)
    ap.add_argument("--clinc-test", type=int, default=5)
    ap.add_argument("--oos", type=int, default=500)
    ap.add_argument("--no-grid", action="store_true", help="skip the fusion-tuning grid")
    ap.add_argument("--no-leak-check", action="store_true", help="skip banking77-plain")
    ap.add_argument("--recommend", default=RECOMMENDED, help="grid candidate to validate")
    ap.add_argument("--dump", type=Path, default=None, help="pickle the captured rankings here")
    ap.add_argument("--top", type=int, default=15, help="grid rows to print")
    return ap.parse_args()


def check_data() -> None:
    for p in (TAU2 / "documents", TAU2 / "tasks", BANKING77 / "train.csv", CLINC):
        if not p.exists():
            sys.exit(f"missing benchmark data: {p} (see ../shared/data/README.md)")


def start_result() -> dict[str, Any]:
    """Print the command and the machine; the result's first keys."""
    from _common import machine  # the same machine description as the other benchmarks

    info = machine()
    command = " ".join([Path(sys.executable).name, *sys.argv])
    console.print(f"[bold]command[/]: {command}")
    console.print(
        f"[bold]machine[/]: nproc={info['nproc']} cpu={info['cpu']} "
        f"torch_threads={info['torch_threads']} python={info['python']}"
    )
    return {
        "command": command,
        "machine": info,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def settings_summary(settings: Settings) -> dict[str, str]:
    return {
        k: str(v)
        for k, v in settings.model_dump().items()
        if k
        in (
            "chunk_tokens",
            "chunk_overlap_tokens",
            "candidate_k",
            "embedding_batch_size",
            "executor_workers",
            "fusion",
        )
    }


async def warm_up(run: Run) -> None:
    services = run.services
    t0 = time.perf_counter()
    await services.executor.run(lambda: services.embeddings.model.encode(["warm up"]))
    run.timings["model_load_s"] = round(time.perf_counter() - t0, 2)


async def raw_encode_s(services: Services, texts: list[str]) -> float:
    """Seconds of a bare ``model.encode(batch_size=32)`` of ``texts``."""
    t0 = time.perf_counter()
    await services.executor.run(
        lambda: services.embeddings.model.encode(
            texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False
        )
    )
    return time.perf_counter() - t0


# 1. ingest ------------------------------------------------------------------------------------


async def ingest_tau2(run: Run) -> tuple[dict[str, Any], dict[str, Any]]:
    """Ingest the tau2 KB; when everything was embedded, compare with raw ``model.encode``.

    Returns the ingest report and the throughput (this run's, a previous fresh run's from
    ``ingest_timing.json``, or "not measured"). Then times a no-op re-ingest.
    """
    services = run.services
    timing_file = run.data_dir / "ingest_timing.json"
    tau2_ing = await ingest(services, [TAU2 / "documents"], "bench-tau2")
    throughput: dict[str, Any]
    if tau2_ing["chunks_embedded"] == tau2_ing["chunks"] and tau2_ing["chunks"]:
        texts = (await services.kb.stored_chunks("bench-tau2", ["documents"]))["documents"]
        raw_s = await raw_encode_s(services, texts)
        tok = [services.embeddings.count_tokens(t) for t in texts]
        throughput = {
            "measured": "this run (fresh)",
            "chunks": len(texts),
            "chunk_tokens_mean": round(statistics.fmean(tok), 1),
            "chunk_tokens_median": statistics.median(tok),
            "ingest_s": tau2_ing["seconds"],
            "ingest_chunks_per_s": round(len(texts) / tau2_ing["seconds"], 2),
            "raw_encode_s": round(raw_s, 2),
            "raw_encode_chunks_per_s": round(len(texts) / raw_s, 2),
        }
        throughput["ingest_over_raw"] = round(
            throughput["ingest_chunks_per_s"] / throughput["raw_encode_chunks_per_s"], 3
        )
        timing_file.write_text(json.dumps({**throughput, "when": run.result["when"]}, indent=1))
    elif timing_file.exists():
        prev = json.loads(timing_file.read_text())
        throughput = {
            **prev,
            "measured": f"previous fresh run ({prev.get('when')}); use --fresh to re-measure",
        }
    else:
        throughput = {"measured": "not measured (data dir reused; use --fresh)"}
    t0 = time.perf_counter()
    await ingest(services, [TAU2 / "documents"], "bench-tau2")
    run.timings["tau2_reingest_noop_s"] = round(time.perf_counter() - t0, 2)
    return tau2_ing, throughput


def load_faq(args: argparse.Namespace) -> FaqData:
    b77_records, b77_test, b77_held = load_banking77(args.seed, args.b77_train, args.b77_test)
    cl_records, cl_test, cl_val, oos_rows = load_clinc(args.seed, args.clinc_train, args.clinc_test)
    return FaqData(b77_records, b77_test, b77_held, cl_records, cl_test, cl_val, oos_rows)


async def ingest_faq(run: Run, faq: FaqData, throughput: dict[str, Any]) -> dict[str, Any]:
    """Ingest BANKING77 and CLINC150 (and ``banking77-plain`` unless ``--no-leak-check``).

    Adds BANKING77's short-chunk throughput to ``throughput`` (this run's when everything
    was embedded, else a previous fresh run's). Returns the ingest reports by KB name.
    """
    services, data_dir = run.services, run.data_dir
    timing_file = data_dir / "ingest_timing.json"
    b77_path = data_dir / "banking77_kb.jsonl"
    cl_path = data_dir / "clinc150_kb.jsonl"
    write_jsonl(b77_path, faq.b77_records, heading=True)
    write_jsonl(cl_path, faq.cl_records, heading=True)
    b77_ing = await ingest(services, [b77_path], "bench-banking77")
    cl_ing = await ingest(services, [cl_path], "bench-clinc150")
    ingests = {"banking77": b77_ing, "clinc150": cl_ing}
    if b77_ing["chunks_embedded"] == b77_ing["chunks"] and b77_ing["chunks"]:
        texts = [q for _, q in faq.b77_records]
        raw_s = await raw_encode_s(services, texts)
        short = {
            "chunks": len(texts),
            "ingest_s": b77_ing["seconds"],
            "ingest_chunks_per_s": round(len(texts) / b77_ing["seconds"], 2),
            "raw_encode_s": round(raw_s, 2),
            "raw_encode_chunks_per_s": round(len(texts) / raw_s, 2),
        }
        short["ingest_over_raw"] = round(
            short["ingest_chunks_per_s"] / short["raw_encode_chunks_per_s"], 3
        )
        prev = json.loads(timing_file.read_text()) if timing_file.exists() else {}
        timing_file.write_text(json.dumps({**prev, "banking77_short": short}, indent=1))
        throughput["banking77_short"] = short
    elif "banking77_short" not in throughput and timing_file.exists():
        prev = json.loads(timing_file.read_text())
        if "banking77_short" in prev:
            throughput["banking77_short"] = prev["banking77_short"]
    if not run.args.no_leak_check:
        plain_path = data_dir / "banking77_kb_plain.jsonl"
        write_jsonl(plain_path, faq.b77_records, heading=False)
        ingests["banking77-plain"] = await ingest(services, [plain_path], "bench-banking77-plain")
    return ingests


async def check_faq_chunks(run: Run, faq: FaqData) -> None:
    """The heading trick must store exactly the question as the chunk text."""
    services = run.services
    got = await services.kb.stored_chunks("bench-banking77", ["documents", "metadatas"])
    want = dict(faq.b77_records)
    exact = sum(
        want.get(m["doc_id"]) == d for d, m in zip(got["documents"], got["metadatas"], strict=True)
    )
    run.result["faq_chunk_text_is_question"] = f"{exact}/{len(got['documents'])}"
    if not run.args.no_leak_check:
        got = await services.kb.stored_chunks("bench-banking77-plain", ["documents"], limit=2)
        run.result["banking77_plain_chunk_examples"] = got["documents"]


async def ingest_section(run: Run) -> FaqData:
    tau2_ing, throughput = await ingest_tau2(run)
    faq = load_faq(run.args)
    ingests = {"tau2": tau2_ing, **await ingest_faq(run, faq, throughput)}
    await check_faq_chunks(run, faq)
    run.result["ingest"] = ingests
    run.result["ingest_throughput_tau2"] = throughput
    return faq


# 2-3. retrieval quality with the shipped fusion -----------------------------------------------


async def capture_rankings(run: Run, faq: FaqData) -> Rankings:
    """Real ``search`` of every query set in every mode (held-out sets: adaptive only)."""
    services = run.services
    sets: dict[str, tuple[str, list[Query]]] = {
        "tau2-full": ("bench-tau2", tau2_queries()),
        "tau2-300": ("bench-tau2", tau2_queries("300")),
        "tau2-goal": ("bench-tau2", tau2_queries("goal")),
        "banking77": ("bench-banking77", faq.b77_test),
        "clinc150": ("bench-clinc150", faq.cl_test),
    }
    if not run.args.no_leak_check:
        sets["banking77-plain"] = ("bench-banking77-plain", faq.b77_test)
    caps: dict[str, list[Captured]] = {}
    for name, (tenant, queries) in sets.items():
        t0 = time.perf_counter()
        await services.executor.run(services.embeddings.embed_queries, [q.text for q in queries])
        t1 = time.perf_counter()
        caps[name] = await run_queries(services, tenant, queries)
        run.timings[f"embed_queries_{name}_s"] = round(t1 - t0, 2)
        run.timings[f"search_{name}_4modes_s"] = round(time.perf_counter() - t1, 2)
    held_sets = {
        "banking77": ("bench-banking77", faq.b77_held),
        "clinc150": ("bench-clinc150", faq.cl_val),
    }
    held_caps: dict[str, list[Captured]] = {}
    for name, (tenant, queries) in held_sets.items():
        await services.executor.run(services.embeddings.embed_queries, [q.text for q in queries])
        held_caps[name] = await run_queries(services, tenant, queries, modes=("adaptive",))
    return Rankings(sets, caps, held_sets, held_caps)


def replay_mismatches(rk: Rankings) -> int:
    """Queries x modes where the offline fusion differs from the real search (must be 0)."""
    mismatches = 0
    for cs in rk.caps.values():
        for c in cs:
            for mode in MODES:
                w = fusion_weights(mode, c.idf_mass)
                docs = replay(c, w["bm25"]) if w["dense"] else replay_bm25(c)
                mismatches += docs != c.docs[mode]
    return mismatches


def dump_rankings(path: Path, rk: Rankings) -> None:
    import pickle

    path.write_bytes(
        pickle.dumps(
            {
                "caps": rk.caps,
                "held_caps": rk.held_caps,
                "queries": {n: q for n, (_, q) in rk.sets.items()},
                "held_queries": {n: q for n, (_, q) in rk.held_sets.items()},
            }
        )
    )


def shipped_quality(rk: Rankings) -> dict[str, Any]:
    """Per set: the metrics of every mode and the query features."""
    quality: dict[str, Any] = {}
    for name, cs in rk.caps.items():
        queries = rk.sets[name][1]
        quality[name] = {m: evaluate(cs, queries, lambda c, m=m: c.docs[m]) for m in MODES}
        quality[name]["_features"] = {
            "idf_mass_median": round(statistics.median(c.idf_mass for c in cs), 1),
            "idf_mass_p10": round(float(np.percentile([c.idf_mass for c in cs], 10)), 1),
            "idf_mass_p90": round(float(np.percentile([c.idf_mass for c in cs], 90)), 1),
            "known_terms_median": statistics.median(c.known_terms for c in cs),
            "shipped_weight_median": round(
                statistics.median(shipped_bm25_weight(c.idf_mass) for c in cs), 3
            ),
            "bm25_fewer_than_10_docs": sum(
                len(dict.fromkeys(doc_of(x) for x in c.bm25)) < K for c in cs
            ),
            "search_ms_median": {
                m: round(1000 * statistics.median(c.seconds[m] for c in cs), 1) for m in MODES
            },
        }
    return quality


async def quality_section(run: Run, faq: FaqData) -> Rankings:
    rk = await capture_rankings(run, faq)
    run.result["replay_mismatches"] = replay_mismatches(rk)
    if run.args.dump:
        dump_rankings(run.args.dump, rk)
    run.result["quality_shipped"] = shipped_quality(rk)
    return rk


# 4. fusion grid (offline replay) and the recommended weight -----------------------------------


def criterion_sets(names: Any) -> list[str]:
    """The sets of ``names`` the grid ranks candidates on, in ``CRITERION`` order."""
    return [n for n in CRITERION if n in names]


def best_parts(rk: Rankings) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """Best single retriever (dense or BM25) per set and criterion metric; held-out too."""
    parts = {
        n: {
            m: max(
                evaluate(rk.caps[n], rk.sets[n][1], lambda c: c.docs["dense"])[m],
                evaluate(rk.caps[n], rk.sets[n][1], lambda c: c.docs["bm25"])[m],
            )
            for m in CRITERION[n]
        }
        for n in criterion_sets(rk.caps)
    }
    held_parts = {
        n: {
            m: max(
                evaluate(rk.held_caps[n], qs, lambda c: replay(c, 0.0))[m],
                evaluate(rk.held_caps[n], qs, replay_bm25)[m],
            )
            for m in CRITERION[n]
        }
        for n, (_, qs) in rk.held_sets.items()
    }
    return parts, held_parts


def grid_row(cand: Candidate, rk: Rankings, parts: dict, held_parts: dict) -> dict[str, Any]:
    """One candidate replayed on every set: its metrics and deficits vs the best part."""
    row: dict[str, Any] = {
        "name": cand.name,
        "family": cand.family,
        "idf_only": cand.idf_only is not None,
    }
    worst, worst_all, gain, held_worst = 0.0, 0.0, [], 0.0
    for n in criterion_sets(rk.caps):
        qs = rk.sets[n][1]
        m = evaluate(rk.caps[n], qs, lambda c, f=cand.fn: replay(c, f(c)))
        row[n] = m
        for metric in CRITERION[n]:
            d = m[metric] - parts[n][metric]
            worst_all = min(worst_all, d)
            if n not in NOT_IN_WORST:
                worst = min(worst, d)
                gain.append(d)
    for n, (_, qs) in rk.held_sets.items():
        m = evaluate(rk.held_caps[n], qs, lambda c, f=cand.fn: replay(c, f(c)))
        row[f"{n}-heldout"] = m
        for metric in CRITERION[n]:
            held_worst = min(held_worst, m[metric] - held_parts[n][metric])
    row["worst_deficit"] = round(worst, 4)
    row["worst_deficit_incl_tau2_300"] = round(worst_all, 4)
    row["heldout_worst_deficit"] = round(held_worst, 4)
    row["mean_delta"] = round(statistics.fmean(gain), 4)
    return row


def fusion_grid(run: Run, rk: Rankings, cands: list[Candidate]) -> None:
    """Every candidate by replay, best first by worst deficit (skipped by ``--no-grid``)."""
    if run.args.no_grid:
        return
    parts, held_parts = best_parts(rk)
    grid_rows = [grid_row(cand, rk, parts, held_parts) for cand in cands]
    grid_rows.sort(key=lambda r: (-r["worst_deficit"], -r["mean_delta"]))
    run.result["grid"] = grid_rows
    run.result["grid_best_parts"] = parts
    run.result["grid_heldout_best_parts"] = held_parts


async def validate_recommended(run: Run, rk: Rankings, rec: Candidate) -> None:
    """``adaptive*``: the recommended weight through the real search (``bm25_weight``
    monkeypatched) when it is a drop-in, checked against its replay; else by replay."""
    if rec.idf_only is None:
        for cs in rk.caps.values():
            for c in cs:
                c.docs["adaptive*"] = replay(c, rec.fn(c))
        return
    rec_docs: dict[str, list[list[str]]] = {}
    kb_results.bm25_weight = rec.idf_only  # what ``fusion_weights`` calls
    try:
        for name, (tenant, queries) in rk.sets.items():
            got_docs = []
            for q in queries:
                res = await run.services.kb.search(q.text, tenant, k=K, mode="adaptive")
                got_docs.append([p["doc_id"] for p in res.passages])
            rec_docs[name] = got_docs
    finally:
        kb_results.bm25_weight = shipped_bm25_weight
    mismatches = 0
    for name, cs in rk.caps.items():
        for c, d in zip(cs, rec_docs[name], strict=True):
            c.docs["adaptive*"] = d
            mismatches += d != replay(c, rec.fn(c))
    run.result["replay_mismatches_recommended"] = mismatches


def final_quality(rk: Rankings, rec: Candidate, alt: Candidate) -> dict[str, Any]:
    """Every mode plus ``adaptive*`` and the alternative (replay), the paired delta of
    ``adaptive*`` vs the best part, and the held-out sets."""
    for cs in rk.caps.values():
        for c in cs:
            c.docs["alt (replay)"] = replay(c, alt.fn(c))
    final: dict[str, Any] = {}
    for name, cs in rk.caps.items():
        qs = rk.sets[name][1]
        final[name] = {
            m: evaluate(cs, qs, lambda c, m=m: c.docs[m])
            for m in (*MODES, "adaptive*", "alt (replay)")
        }
        if name in CRITERION:
            best = {}
            for metric in CRITERION[name]:
                part = max(("dense", "bm25"), key=lambda p: final[name][p][metric])
                mean, hw = paired_delta(
                    cs, qs, lambda c: c.docs["adaptive*"], lambda c, p=part: c.docs[p], metric
                )
                best[metric] = {
                    "best_part": part,
                    "delta": round(mean, 4),
                    "ci95": round(hw, 4),
                }
            final[name]["_adaptive*_vs_best_part"] = best
    for n, (_, qs) in rk.held_sets.items():
        hc = rk.held_caps[n]
        final[f"{n}-heldout"] = {
            "dense": evaluate(hc, qs, lambda c: replay(c, 0.0)),
            "rrf": evaluate(hc, qs, lambda c: replay(c, 1.0)),
            "adaptive": evaluate(hc, qs, lambda c: c.docs["adaptive"]),
            "adaptive*": evaluate(hc, qs, lambda c: replay(c, rec.fn(c))),
            "alt (replay)": evaluate(hc, qs, lambda c: replay(c, alt.fn(c))),
        }
    return final


async def fusion_section(run: Run, rk: Rankings) -> None:
    cands = candidates()
    by_name = {c.name: c for c in cands}
    fusion_grid(run, rk, cands)
    rec = by_name[run.args.recommend]
    await validate_recommended(run, rk, rec)
    alt = by_name[ALTERNATIVE]
    final = final_quality(rk, rec, alt)
    run.result["alternative"] = {"name": alt.name, "family": alt.family}
    run.result["recommended"] = {
        "name": rec.name,
        "family": rec.family,
        "drop_in_for_bm25_weight": rec.idf_only is not None,
    }
    run.result["quality_recommended"] = final


# 5. out-of-scope separation on the tau2 KB ----------------------------------------------------


async def oos_top_scores(
    run: Run, faq: FaqData, rk: Rankings
) -> tuple[dict[str, list[float]], float | None]:
    """Dense ``top_score`` on the tau2 KB per query set, and the KB's abstain threshold."""
    args = run.args
    rng = random.Random(args.seed)
    oos_q = [_clean(t) for t, _ in rng.sample(faq.oos_rows, min(args.oos, len(faq.oos_rows)))]
    b77_q = [q.text for q in rng.sample(faq.b77_test, min(args.oos, len(faq.b77_test)))]
    tau2_q = [q.text for q in rk.sets["tau2-full"][1]]
    scores: dict[str, list[float]] = {}
    threshold = None
    for label, texts in (
        ("clinc oos_test", oos_q),
        ("tau2 instructions", tau2_q),
        ("banking77 test", b77_q),
    ):
        vals = []
        for t in texts:
            res = await run.services.kb.search(t, "bench-tau2", k=K, mode="dense")
            vals.append(res.top_score)
            threshold = res.threshold
        scores[label] = vals
    return scores, threshold


def kept(values: list[float], thr: float) -> float:
    """Share of ``values`` above ``thr``, rounded to 4 places."""
    return round(sum(v > thr for v in values) / len(values), 4)


def operating_points(scores: dict[str, list[float]]) -> list[dict[str, float]]:
    """Thresholds letting 10% / 5% / 1% of the OOS queries through, and what they keep."""
    oos_sorted = sorted(scores["clinc oos_test"])
    in_scope = scores["tau2 instructions"] + scores["banking77 test"]
    points = []
    for pass_rate in (0.10, 0.05, 0.01):
        thr = oos_sorted[min(len(oos_sorted) - 1, int((1 - pass_rate) * len(oos_sorted)))]
        points.append(
            {
                "oos_pass_rate": pass_rate,
                "threshold": round(thr, 4),
                "tau2_kept": kept(scores["tau2 instructions"], thr),
                "banking77_kept": kept(scores["banking77 test"], thr),
                "in_scope_kept": kept(in_scope, thr),
            }
        )
    return points


async def oos_section(run: Run, faq: FaqData, rk: Rankings) -> None:
    """CLINC150 oos_test vs in-scope queries on the tau2 KB: medians, shares, AUROC."""
    scores, threshold = await oos_top_scores(run, faq, rk)
    oos_scores = scores["clinc oos_test"]
    oos = {
        "threshold": threshold,
        "calibration": run.result["ingest"]["tau2"]["calibration"],
        "sets": {
            label: {
                "n": len(v),
                "top_score_median": round(statistics.median(v), 4),
                "share_above_threshold": round(sum(s > threshold for s in v) / len(v), 4),
            }
            for label, v in scores.items()
        },
        "auroc_in_vs_oos": {
            "tau2 instructions": round(auroc(scores["tau2 instructions"], oos_scores), 4),
            "banking77 test": round(auroc(scores["banking77 test"], oos_scores), 4),
            "both": round(
                auroc(scores["tau2 instructions"] + scores["banking77 test"], oos_scores), 4
            ),
        },
        "operating_points": operating_points(scores),
    }
    run.result["oos_tau2_kb"] = oos


# -- print and write ---------------------------------------------------------------------------


def print_ingest(result: dict[str, Any]) -> None:
    rows = [
        [
            k,
            v["documents"],
            v["chunks"],
            v["chunks_embedded"],
            v["seconds"],
            v["chunks_per_s"] or "-",
            v["failed_count"],
            v["calibration"].get("threshold"),
        ]
        for k, v in result["ingest"].items()
    ]
    console.print(
        table(
            "Ingest (this run; chunks/s only when something was embedded)",
            ["KB", "docs", "chunks", "embedded", "s", "chunks/s", "failed", "abstain thr."],
            rows,
        )
    )
    tp = result["ingest_throughput_tau2"]
    short = tp.get("banking77_short", {})
    console.print(
        table(
            "Ingest throughput vs raw model.encode(batch_size=32) on the same texts - "
            f"{tp['measured']}",
            ["metric", "tau2 (long chunks)", "banking77 (1 short chunk per doc)"],
            [
                [k, v, short.get(k, "-")]
                for k, v in tp.items()
                if k not in ("measured", "when", "banking77_short")
            ],
        )
    )


def print_quality(result: dict[str, Any]) -> None:
    for name, per_mode in result["quality_recommended"].items():
        metrics = DATASET_METRICS.get(name, ("hit@1", "hit@5", "mrr"))
        label = LABELS.get(name.removesuffix("-heldout"), name)
        if name.endswith("-heldout"):
            label += " - HELD-OUT queries (not used to pick the weight)"
        rows = [
            [
                {
                    "adaptive": "adaptive (shipped bm25_weight)",
                    "adaptive*": f"adaptive* = {result['recommended']['name']}",
                    "alt (replay)": f"alt = {result['alternative']['name']} (replay)",
                }.get(m, m),
                *[per_mode[m][x] for x in metrics],
            ]
            for m in per_mode
            if not m.startswith("_")
        ]
        console.print(table(label, ["mode", *metrics], rows))
        if "_adaptive*_vs_best_part" in per_mode:
            console.print(
                "  adaptive* minus best part (paired, 95% CI): "
                + "; ".join(
                    f"{metric} vs {d['best_part']}: {d['delta']:+.3f} ± {d['ci95']:.3f}"
                    for metric, d in per_mode["_adaptive*_vs_best_part"].items()
                )
            )


def print_features(result: dict[str, Any]) -> None:
    feat_rows = [
        [
            n,
            f["idf_mass_p10"],
            f["idf_mass_median"],
            f["idf_mass_p90"],
            f["known_terms_median"],
            f["shipped_weight_median"],
            f["bm25_fewer_than_10_docs"],
            " / ".join(str(f["search_ms_median"][m]) for m in MODES),
        ]
        for n, f in ((n, q["_features"]) for n, q in result["quality_shipped"].items())
    ]
    console.print(
        table(
            "Query features",
            [
                "set",
                "idf p10",
                "idf median",
                "idf p90",
                "known terms",
                "shipped w (median)",
                "BM25 <10 docs",
                "search ms d/b/r/a",
            ],
            feat_rows,
        )
    )


def print_grid(result: dict[str, Any], args: argparse.Namespace, held_names: list[str]) -> None:
    if "grid" not in result:
        return

    def trio(m: dict[str, float], metrics: Sequence[str]) -> str:
        return "/".join(f"{m[x]:.3f}".lstrip("0") for x in metrics)

    def signed(v: float) -> str:
        return f"{v:+.3f}"

    names = criterion_sets(result["quality_shipped"])
    parts = result["grid_best_parts"]
    cols = ["candidate", "worst Δ", "HO worst Δ", "Δ +t2-300", "mean Δ"]
    for n in names:
        cols.append(f"{n} {'/'.join(CRITERION[n])}".replace("hit@", "h"))
    cols += [f"{n} HO h1/h5/mrr" for n in held_names]
    shown = result["grid"][: args.top]
    extra = [
        r
        for r in result["grid"]
        if r["name"]
        in (
            RECOMMENDED,
            ALTERNATIVE,
            args.recommend,
            "const 0.0",
            "const 1.0",
            "sat scale=1.5 sat=12",
            "ramp idf 150->250 max=3.0",
        )
    ]
    for r in extra:
        if r not in shown:
            shown.append(r)
    rows = [
        [
            r["name"] + ("" if r["idf_only"] else " (needs KB change)"),
            signed(r["worst_deficit"]),
            signed(r["heldout_worst_deficit"]),
            signed(r["worst_deficit_incl_tau2_300"]),
            signed(r["mean_delta"]),
            *[trio(r[n], CRITERION[n]) for n in names],
            *[trio(r[f"{n}-heldout"], ("hit@1", "hit@5", "mrr")) for n in held_names],
        ]
        for r in shown
    ]
    Console(width=max(console.width, 250)).print(
        table(
            f"Fusion grid ({len(result['grid'])} candidates, offline replay; best first by "
            "worst Δ = min over datasets/metrics of (candidate - best single retriever), "
            "tau2-300 left out of that ranking (own column); HO = held-out FAQ queries; "
            "shipped = 'sat scale=1.5 sat=12'",
            cols,
            rows,
        )
    )
    console.print(
        "  best parts: "
        + "; ".join(
            f"{n}: " + ", ".join(f"{m}={v:.3f}" for m, v in p.items()) for n, p in parts.items()
        )
    )


def print_oos(result: dict[str, Any]) -> None:
    o = result["oos_tau2_kb"]
    rows = [
        [label, s["n"], s["top_score_median"], s["share_above_threshold"]]
        for label, s in o["sets"].items()
    ]
    console.print(
        table(
            f"Out-of-scope on the tau2 KB (threshold {o['threshold']})",
            ["queries", "n", "median top_score", "share > threshold"],
            rows,
        )
    )
    console.print(
        table(
            "  OOS operating points (threshold picked from these same oos scores: optimistic)",
            ["oos passing", "threshold", "tau2 kept", "banking77 kept"],
            [
                [p["oos_pass_rate"], p["threshold"], p["tau2_kept"], p["banking77_kept"]]
                for p in o["operating_points"]
            ],
        )
    )
    console.print(
        "  AUROC (in-scope vs CLINC oos): "
        + ", ".join(f"{k}: {v:.3f}" for k, v in o["auroc_in_vs_oos"].items())
    )


def print_checks(result: dict[str, Any]) -> None:
    console.print(
        f"replay mismatches (must be 0): {result['replay_mismatches']}"
        f" / recommended: {result.get('replay_mismatches_recommended', '-')}; "
        f"FAQ chunk text == question: {result['faq_chunk_text_is_question']}"
    )
    console.print(
        table("Timings (s)", ["step", "s"], [[k, v] for k, v in result["timings"].items()])
    )


def write_result(out: Path, result: dict[str, Any]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=1, default=str))
    tmp.replace(out)
    console.print(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")


async def main() -> None:
    args = parse_args()
    check_data()
    started = time.perf_counter()
    result = start_result()
    data_dir: Path = args.data_dir.resolve()
    await asyncio.to_thread(prepare_data_dir, data_dir, args.fresh)
    settings = Settings(_env_file=None, data_dir=data_dir, query_cache_size=50_000)
    result["settings"] = settings_summary(settings)
    services = await create_services(settings)
    run = Run(args, services, data_dir, result, timings={})
    try:
        await warm_up(run)
        faq = await ingest_section(run)  # 1.
        rk = await quality_section(run, faq)  # 2-3.
        await fusion_section(run, rk)  # 4.
        await oos_section(run, faq, rk)  # 5.
    finally:
        await services.aclose()
    run.timings["total_s"] = round(time.perf_counter() - started, 1)
    result["timings"] = run.timings

    print_ingest(result)
    print_quality(result)
    print_features(result)
    print_grid(result, args, held_names=list(rk.held_sets))
    print_oos(result)
    print_checks(result)
    write_result(args.out, result)


if __name__ == "__main__":
    asyncio.run(main())
