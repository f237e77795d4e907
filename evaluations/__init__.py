"""Offline evaluations: labelled datasets replayed through the real graph, scored and reported.

``support-agent eval DATASET.jsonl`` is the command line (``evaluations.cli``);
this package's public names are below. Nothing in ``state``, ``tools`` or
``graph`` imports it. The names are resolved on first use, so importing the
command line (``support-agent --help``) does not load the graph and its models.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "dataset": (
        "OUTCOMES",
        "Case",
        "Dataset",
        "LoadError",
        "Message",
        "load_dataset",
        "split_history",
    ),
    "metrics": (
        "abstention_separation",
        "citation_validity",
        "confusion_matrix",
        "content_f1",
        "escalation_scores",
        "false_abstention_at",
        "hit_at_k",
        "memory_recall",
        "outcome_accuracy",
        "pass_hat_k",
        "percentile",
        "recall_at_k",
        "reciprocal_rank",
        "token_f1",
    ),
    "report": ("build_report", "compare", "render_markdown", "write_report"),
    "runner": ("EvalRun", "run_dataset"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'evaluations' has no attribute {name!r}")
    return getattr(importlib.import_module(f"evaluations.{_WHERE[name]}"), name)
