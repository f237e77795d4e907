"""Recording a finished run as a LangSmith experiment (only when an API key is set).

The cases become examples of a LangSmith dataset named after the local one
(created once, then reused), and ``langsmith.evaluation.aevaluate`` records an
experiment whose target returns the outputs this run already produced (nothing
is re-run) and whose evaluators return the per-case scores. Without a key this
module touches neither the network nor the ``langsmith`` client: the report
says ``"not configured"``.
"""

from __future__ import annotations

import logging
from typing import Any

from evaluations.runner import EvalRun
from state import Settings

__all__ = ["NOT_CONFIGURED", "upload_run"]

logger = logging.getLogger(__name__)
NOT_CONFIGURED = "not configured (LANGSMITH_API_KEY unset)"
_SCORES = (
    "hit@1",
    "hit@5",
    "hit@10",
    "recall@5",
    "rr",
    "citation_validity",
    "memory_recall",
    "answer_f1",
    "rewrite_f1",
)


def _example(case: Any) -> dict[str, Any]:
    return {
        "inputs": {
            "case_id": case.id,
            "threads": [
                [m.text if m.role == "user" else {"role": m.role, "text": m.text} for m in thread]
                for thread in case.threads
            ],
        },
        "outputs": {
            "expected_outcome": case.expected_outcome,
            "expected_doc_ids": list(case.expected_doc_ids or []),
            "expected_memories": list(case.expected_memories or []),
            "reference_answer": case.reference_answer,
        },
        "metadata": {"case_id": case.id},
    }


def _evaluate_record(outputs: dict[str, Any]) -> dict[str, Any]:
    """Per-case feedback: the runner's scores (``None`` ones are not sent)."""
    scores = outputs.get("scores") or {}
    results = [{"key": key, "score": scores[key]} for key in _SCORES if scores.get(key) is not None]
    results.append({"key": "passed", "score": float(bool(outputs.get("passed")))})
    expected = outputs.get("expected_outcome")
    if expected is not None:
        results.append({"key": "outcome_correct", "score": float(outputs["outcome"] == expected)})
    for key in ("correctness", "groundedness"):
        value = (outputs.get("judge") or {}).get(key)
        if value is not None:
            results.append({"key": f"judge_{key}", "score": value})
    return {"results": results}


async def upload_run(run: EvalRun, settings: Settings, *, client: Any = None) -> Any:
    """Record ``run`` as an experiment; returns its name and URL, or why it was not sent."""
    if settings.langsmith_api_key is None and client is None:
        return NOT_CONFIGURED
    from langsmith import Client
    from langsmith.evaluation import aevaluate

    if client is None:
        client = Client(api_key=settings.langsmith_api_key.get_secret_value())  # type: ignore[union-attr]
    dataset_name = f"support-agent-eval-{run.dataset.name}"
    try:
        if not client.has_dataset(dataset_name=dataset_name):
            created = client.create_dataset(
                dataset_name, description="support-agent offline evaluation cases"
            )
            client.create_examples(
                dataset_id=created.id, examples=[_example(c) for c in run.dataset.cases]
            )
        # Repetitions are separate records; LangSmith's own repetition re-runs the target,
        # so each example is answered with the records of every trial in turn.
        by_case: dict[str, list[dict[str, Any]]] = {}
        for record in run.records:
            by_case.setdefault(record["case_id"], []).append(record)
        served: dict[str, int] = {}

        async def replay(inputs: dict[str, Any]) -> dict[str, Any]:
            case_id = inputs["case_id"]
            trials = by_case.get(case_id) or [{"error": "case not in this run", "scores": {}}]
            n = served.get(case_id, 0)
            served[case_id] = n + 1
            record = trials[n % len(trials)]
            return {k: v for k, v in record.items() if k != "turn_latency_ms"}

        def scores(outputs: dict[str, Any]) -> dict[str, Any]:
            return _evaluate_record(outputs)

        results = await aevaluate(
            replay,
            data=dataset_name,
            evaluators=[scores],
            experiment_prefix=f"{run.dataset.name}-{run.mode}",
            metadata={"run_id": run.run_id, "mode": run.mode, **run.settings},
            num_repetitions=run.repeat,
            client=client,
        )
        return {"experiment": results.experiment_name, "dataset": dataset_name}
    except Exception as exc:  # the local report stands on its own; say why the upload failed
        logger.warning("LangSmith upload failed: %s", exc)
        return f"upload failed: {type(exc).__name__}: {exc}"
