"""What a customer is asking for, judged on the meaning of their words, not keywords.

Two logistic-regression heads over the sentence vector the knowledge-base search
already computes (the packaged all-MiniLM-L6-v2, normalised): ``human_requested``
("I want a rep", "Chat with agrnt", "I was chatting with an agent and got
disconnected") and ``complaint``. The weights ship in ``intent_heads.json``, trained
by ``scripts/train_escalation_intent.py`` on public intent data (train splits only);
this module only scores. Pure arithmetic: no model call, no I/O after loading.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

__all__ = ["IntentHeads", "intent_heads"]

_HEADS_FILE = Path(__file__).with_name("intent_heads.json")


@dataclass(frozen=True)
class IntentHeads:
    """Linear heads over a sentence vector; a head fires at or above its threshold."""

    names: tuple[str, ...]
    weights: np.ndarray
    """One row per head."""
    bias: np.ndarray
    threshold: np.ndarray

    def detect(self, vector: Sequence[float]) -> list[str]:
        """The heads that fire for ``vector`` (a normalised sentence embedding).

        >>> heads = IntentHeads(("a", "b"), np.eye(2), np.zeros(2), np.array([0.5, 0.5]))
        >>> heads.detect([0.9, 0.1])
        ['a']
        """
        margins = self.weights @ np.asarray(vector, dtype=np.float32) + self.bias
        fired = zip(self.names, margins, self.threshold, strict=True)
        return [name for name, margin, threshold in fired if margin >= threshold]


@cache
def intent_heads(path: Path = _HEADS_FILE) -> IntentHeads:
    """The shipped heads (loaded once per process)."""
    spec = json.loads(path.read_text(encoding="utf-8"))["heads"]
    names = tuple(spec)
    return IntentHeads(
        names,
        np.asarray([spec[n]["weights"] for n in names], dtype=np.float32),
        np.asarray([spec[n]["bias"] for n in names], dtype=np.float32),
        np.asarray([spec[n]["threshold"] for n in names], dtype=np.float32),
    )
