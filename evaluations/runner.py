"""The evaluation runner: replays each case through the compiled graph and records the result.

Every case (and every repetition of it) runs in fresh threads for a customer of
its own (``eval-<run>-<trial>-<user or case>``), so memories, tickets and
threads never leak between cases or runs; the customer is forgotten once the
case is scored. A case that raises is recorded with its error and the run goes
on. With ``kb`` paths the run uses an isolated local store (SQLite + embedded
Chroma) in a cache directory keyed by the content of those paths and the
chunking settings: a re-run over the same files finds them ingested and embeds
nothing. The runner scores what the conversation *ended* with; aggregation is
``evaluations.report``'s job.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import logging
import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from evaluations.dataset import Case, Dataset, Message, split_history
from evaluations.judge import Judge, create_judge
from evaluations.metrics import (
    K_VALUES,
    citation_validity,
    content_f1,
    hit_at_k,
    memory_recall,
    recall_at_k,
    reciprocal_rank,
    token_f1,
)
from graph.embedded import SupportAgent, open_agent
from state import Settings, validate_identifier
from tools.services import create_services

__all__ = ["EvalRun", "case_passed", "kb_store_dir", "run_dataset", "score_turn"]

logger = logging.getLogger(__name__)
ProgressFn = Callable[[int, int], None]
_UNSAFE = re.compile(r"[^A-Za-z0-9_.@:-]+")


@dataclass
class EvalRun:
    """Everything a report needs: the per-trial records and how the run was made."""

    run_id: str
    dataset: Dataset
    records: list[dict[str, Any]]
    repeat: int
    started: str
    seconds: float
    mode: str
    """``llm`` or ``llm-free``."""
    kb: dict[str, Any] = field(default_factory=dict)
    judge: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)


def kb_store_dir(paths: Sequence[Path], settings: Settings, cache_root: Path) -> Path:
    """The cache directory for a knowledge base: a hash of its files and chunking settings.

    Files are hashed by path relative to their root and content, so the same folder
    checked out elsewhere shares the cache, and any edit gets a new store.
    """
    digest = hashlib.sha256()
    for key in ("chunk_tokens", "chunk_overlap_tokens", "embedding_model_path"):
        digest.update(f"{key}={getattr(settings, key)}\n".encode())
    for root in sorted(Path(p).resolve() for p in paths):
        files = sorted(f for f in root.rglob("*") if f.is_file()) if root.is_dir() else [root]
        for file in files:
            name = file.relative_to(root) if root.is_dir() else Path(root.name)
            digest.update(f"{name}\0".encode())
            digest.update(hashlib.sha256(file.read_bytes()).digest())
    return cache_root / f"kb-{digest.hexdigest()[:16]}"


def _rewrite_scores(case: Case, query: str) -> dict[str, float | None]:
    """The turn's search query against the gold standalone rewrite, and two baselines.

    Baselines from the customer's own words: the last message alone, and the previous
    customer message followed by the last (what a rewriter has to beat).
    """
    gold = case.metadata.get("rewrite")
    if not isinstance(gold, str) or not gold.strip():
        return dict.fromkeys(("rewrite_f1", "rewrite_f1_last", "rewrite_f1_previous_last"))
    said = [m.text for m in case.threads[-1] if m.role == "user"]
    return {
        "rewrite_f1": content_f1(query, gold),
        "rewrite_f1_last": content_f1(said[-1], gold),
        "rewrite_f1_previous_last": content_f1(" ".join(said[-2:]), gold),
    }


def score_turn(
    case: Case,
    retrieved: Sequence[str],
    cited: Sequence[str],
    memories: Sequence[str],
    *,
    answer: str = "",
    query: str = "",
) -> dict[str, float | None]:
    """The case's per-turn scores (``None`` where the case lacks the label).

    ``answer_f1`` only for cases expected to be answered: an abstention's reference
    answer says "I don't know", which token overlap would reward wrongly.
    """
    gold = case.expected_doc_ids or ()
    scores: dict[str, float | None] = {}
    for k in K_VALUES:
        scores[f"hit@{k}"] = hit_at_k(retrieved, gold, k)
    for k in K_VALUES:
        scores[f"recall@{k}"] = recall_at_k(retrieved, gold, k)
    scores["rr"] = reciprocal_rank(retrieved, gold, max(K_VALUES))
    scores["citation_validity"] = citation_validity(cited, retrieved)
    scores["memory_recall"] = memory_recall(case.expected_memories, memories)
    answerable = case.reference_answer and case.expected_outcome == "answered"
    scores["answer_f1"] = token_f1(answer, case.reference_answer) if answerable else None
    return {**scores, **_rewrite_scores(case, query)}


def case_passed(record: dict[str, Any]) -> bool:
    """Whether one trial met every label its case carries (the success of pass^k).

    No error; the expected outcome (if labelled); a gold document in the top 5 (if gold
    documents are given and the turn was not expected to abstain); every expected memory;
    and only citations of retrieved documents.
    """
    if record.get("error"):
        return False
    scores = record["scores"]
    expected = record.get("expected_outcome")
    if expected is not None and record["outcome"] != expected:
        return False
    if scores.get("hit@5") is not None and expected != "abstained" and scores["hit@5"] < 1:
        return False
    if scores.get("memory_recall") is not None and scores["memory_recall"] < 1:
        return False
    return scores.get("citation_validity") in (None, 1.0)


def _identity(run_id: str, trial: int, case: Case) -> str:
    base = _UNSAFE.sub("-", case.user_id or case.id)
    return f"eval-{run_id}-{trial}-{base}"[:128]


async def _ask(agent: SupportAgent, message: Any, **kwargs: Any) -> Any:
    if message.attachments:
        if "attachments" not in inspect.signature(agent.ask).parameters:
            raise RuntimeError("this version of SupportAgent.ask does not take attachments")
        kwargs["attachments"] = list(message.attachments)
    return await agent.ask(message.text, **kwargs)


async def _converse(
    agent: SupportAgent,
    conversation: Sequence[Message],
    record: dict[str, Any],
    user: str,
    tenant: str,
) -> Any:
    """One conversation in a new thread: a transcript's history is imported, the rest runs."""
    thread = f"{user}-{uuid.uuid4().hex[:8]}"
    history, to_run = split_history(conversation)
    if history:
        said = [(m.role, m.text) for m in history]
        await agent.import_history(thread, said, user_id=user, tenant_id=tenant)
        record["imported"] += len(history)
    result = None
    for message in to_run:
        result = await _ask(agent, message, thread_id=thread, user_id=user, tenant_id=tenant)
        record["turns"] += 1
        record["turn_latency_ms"].append(result.latency_ms)
    return result


async def _run_case(
    agent: SupportAgent, case: Case, trial: int, run_id: str, judge: Judge | None
) -> dict[str, Any]:
    settings = agent.services.settings
    tenant = case.tenant_id or settings.default_tenant
    user = _identity(run_id, trial, case)
    record: dict[str, Any] = {
        "case_id": case.id,
        "trial": trial,
        "expected_outcome": case.expected_outcome,
        "expected_doc_ids": list(case.expected_doc_ids) if case.expected_doc_ids else None,
        "expected_memories": list(case.expected_memories) if case.expected_memories else None,
        "turns": 0,
        "imported": 0,
        "turn_latency_ms": [],
        "error": None,
    }
    result = None
    try:
        for conversation in case.threads:
            result = await _converse(agent, conversation, record, user, tenant)
        assert result is not None
        record.update(
            outcome=result.outcome,
            answer=result.answer,
            retrieved=list(result.retrieved),
            cited=[c["doc_id"] for c in result.citations],
            escalation=result.escalation,
            memories=list(result.memories_used),
            latency_ms=result.latency_ms,
            confidence=result.confidence,
            route_reasons=list(result.route_reasons),
            degraded=result.degraded,
            query=result.query,
        )
        if judge is not None:
            record["judge"] = await judge.score(agent, case, result)
    except Exception as exc:  # one broken case must not end the run
        logger.warning("case %s (trial %d) failed: %s", case.id, trial, exc)
        record.update(
            outcome="error", retrieved=[], cited=[], memories=[], escalation=None, query=""
        )
        record["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        with contextlib.suppress(Exception):  # best effort: leave no customer data behind
            await agent.forget(user, tenant)
    record["scores"] = score_turn(
        case,
        record["retrieved"],
        record["cited"],
        record["memories"],
        answer=record.get("answer") or "",
        query=record["query"],
    )
    record["passed"] = case_passed(record)
    return record


def _tenants(dataset: Dataset, settings: Settings) -> list[str]:
    """The valid tenants the cases name (an invalid one fails its own case, not the run)."""
    names = {c.tenant_id or settings.default_tenant for c in dataset.cases}
    valid = []
    for name in sorted(names):
        with contextlib.suppress(ValueError):
            valid.append(validate_identifier(name, "tenant"))
    return valid


def _isolated(settings: Settings, store: Path) -> Settings:
    """The settings pointed at a local store of its own (no shared database or server)."""
    return settings.model_copy(
        update={
            "data_dir": store,
            "database_url": None,
            "chroma_url": None,
            "checkpointer": "sqlite",
        }
    )


async def run_dataset(
    dataset: Dataset,
    settings: Settings,
    *,
    kb: Sequence[Path] = (),
    repeat: int = 1,
    concurrency: int = 1,
    cache_dir: Path | None = None,
    embeddings: Any = None,
    judge: Judge | Literal["auto"] | None = "auto",
    progress: ProgressFn | None = None,
) -> EvalRun:
    """Run every case ``repeat`` times through the graph; returns the per-trial records.

    ``kb``: ingest these paths into an isolated, content-addressed store first (into every
    tenant the dataset names). Without it the run uses the configured knowledge base.
    ``judge="auto"``: an LLM judge when a model is configured, else skipped with the reason.
    """
    if repeat < 1 or concurrency < 1:
        raise ValueError("repeat and concurrency must be at least 1")
    run_id = datetime.now(UTC).strftime("%Y%m%d%H%M%S") + "-" + uuid.uuid4().hex[:6]
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    started = time.perf_counter()
    kb_info: dict[str, Any] = {"paths": [str(p) for p in kb], "store": "configured"}
    if kb:
        store = kb_store_dir(kb, settings, cache_dir or settings.data_dir / "eval-cache")
        settings = _isolated(settings, store)
        kb_info["store"] = str(store)
    # An evaluation never reaches production side effects: no helpdesk webhook (its
    # escalations would become real tickets) and no shared circuit-breaker state.
    settings = settings.model_copy(update={"escalation_webhook_url": None, "redis_url": None})
    skipped: str | None = None
    if judge == "auto":
        judge, skipped = create_judge(settings)
    services = await create_services(settings, embeddings=embeddings)
    try:
        tenants = _tenants(dataset, settings)
        if kb:
            kb_info["ingest"] = {}
            for tenant in tenants:
                report = await services.kb.ingest(list(kb), tenant)
                kb_info["ingest"][tenant] = {
                    "added": len(report.added),
                    "updated": len(report.updated),
                    "unchanged": len(report.unchanged),
                    "removed": len(report.removed),
                    "failed": len(report.failed),
                    "chunks_embedded": report.chunks_embedded,
                    "seconds": round(report.seconds, 2),
                }
        for tenant in tenants:  # model loading and index building are not turn latency
            await services.kb.warm_up(tenant)
        async with open_agent(services=services) as agent:
            jobs = [(case, trial) for trial in range(repeat) for case in dataset.cases]
            records: list[dict[str, Any] | None] = [None] * len(jobs)
            gate = asyncio.Semaphore(concurrency)
            done = 0

            async def one(index: int, case: Case, trial: int) -> None:
                nonlocal done
                async with gate:
                    records[index] = await _run_case(agent, case, trial, run_id, judge)
                done += 1
                if progress:
                    progress(done, len(jobs))

            if progress:
                progress(0, len(jobs))
            await asyncio.gather(*(one(i, c, t) for i, (c, t) in enumerate(jobs)))
    finally:
        await services.aclose()
    return EvalRun(
        run_id=run_id,
        dataset=dataset,
        records=[r for r in records if r is not None],
        repeat=repeat,
        started=started_at,
        seconds=round(time.perf_counter() - started, 2),
        mode="llm" if settings.llm_enabled else "llm-free",
        kb=kb_info,
        judge=judge.describe() if judge else {"skipped": skipped or "no judge given"},
        settings={
            key: str(getattr(settings, key))
            for key in ("retrieval_k", "fusion", "chunk_tokens", "abstain_threshold", "llm_model")
        },
    )
