"""Whether the knowledge base holds the answer: one 0..1 score from several signals.

One cosine against one threshold refused in-scope questions with the right article
ranked first and answered off-topic ones at full confidence. Each signal here is
comparable across knowledge bases:

- ``dense``: the best chunk's cosine minus the collection's calibrated threshold;
- ``coverage``: the share of the question's informative words (IDF mass; a word the
  knowledge base never uses counts as its rarest) that the best document holds;
- ``agreement``: whether BM25 ranks the dense search's best document near the top
  (1 / its rank among BM25's documents; 0 when BM25 did not find it).

The margin between the best two documents was tried and left out: its meaning depends
on how the knowledge base is written (ten paraphrases of one question sit together).

``scripts/fit_abstention.py`` fits a logistic model of them on CLINC150's validation
split (in scope against out of scope, over the knowledge base built from its train
split) and writes ``abstention.json``; the test splits, BANKING77 and MTRAG stay unseen
for the measurements in the README.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["MODEL_PATH", "AbstentionModel", "Signals", "abstention_model"]

MODEL_PATH = Path(__file__).with_name("abstention.json")


@dataclass(frozen=True)
class Signals:
    """What a search says about whether it found the answer."""

    dense: float
    coverage: float
    agreement: float

    def vector(self) -> list[float]:
        """The signals in the model's feature order."""
        return [self.dense, self.coverage, self.agreement]

    def as_dict(self) -> dict[str, float]:
        """Rounded, for the state and the logs."""
        return {k: round(v, 4) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class AbstentionModel:
    """A logistic model of the signals and the probability from which to answer."""

    weights: tuple[float, ...]
    bias: float
    answer_at: float

    def probability(self, signals: Signals) -> float:
        """0..1: how likely the knowledge base holds the answer.

        >>> model = AbstentionModel((10.0, 2.0, 1.0), -1.0, 0.5)
        >>> model.probability(Signals(0.2, 0.5, 1.0)) > 0.9
        True
        """
        z = self.bias + sum(w * x for w, x in zip(self.weights, signals.vector(), strict=True))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def to_json(self) -> dict[str, Any]:
        """The stored form."""
        return {"weights": list(self.weights), "bias": self.bias, "answer_at": self.answer_at}


@cache
def abstention_model(path: Path = MODEL_PATH) -> AbstentionModel:
    """The fitted model shipped with the project (read once per process)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return AbstentionModel(tuple(data["weights"]), float(data["bias"]), float(data["answer_at"]))
