"""Evaluation metrics: pure functions of plain values, each docstring gives the definition.

Per-case functions return ``None`` when the case does not carry the label the
metric needs (no gold documents, no expected memories): such cases are left out
of the average rather than counted as zero, and aggregates report how many
cases they cover (``n``). Undefined ratios (a precision with no positive
prediction) are ``None`` too, never a silent 0 or 1.
"""

from __future__ import annotations

import math
import re
import string
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "K_VALUES",
    "STOPWORDS",
    "abstention_separation",
    "auroc",
    "citation_validity",
    "confusion_matrix",
    "content_f1",
    "escalation_scores",
    "false_abstention_at",
    "hit_at_k",
    "mean",
    "memory_recall",
    "outcome_accuracy",
    "pass_hat_k",
    "percentile",
    "recall_at_k",
    "reciprocal_rank",
    "retrieval_scores",
    "token_f1",
]

K_VALUES = (1, 5, 10)


def hit_at_k(retrieved: Sequence[str], gold: Iterable[str], k: int) -> float | None:
    """1.0 when any gold id is among the first ``k`` retrieved ids, else 0.0.

    ``None`` when there is no gold id. ``k`` larger than the list looks at the whole list.

    >>> hit_at_k(["a", "b", "c"], {"c"}, 2), hit_at_k(["a", "b", "c"], {"c"}, 10)
    (0.0, 1.0)
    """
    gold = set(gold)
    if not gold:
        return None
    return 1.0 if gold.intersection(retrieved[:k]) else 0.0


def recall_at_k(retrieved: Sequence[str], gold: Iterable[str], k: int) -> float | None:
    """Share of the distinct gold ids found among the first ``k`` retrieved ids.

    ``None`` when there is no gold id.

    >>> recall_at_k(["a", "x", "b"], ["a", "b", "c", "d"], 2)
    0.25
    """
    gold = set(gold)
    if not gold:
        return None
    return len(gold.intersection(retrieved[:k])) / len(gold)


def reciprocal_rank(retrieved: Sequence[str], gold: Iterable[str], k: int = 10) -> float | None:
    """1 / rank of the first gold id within the first ``k`` (0.0 if none); MRR is its mean.

    ``None`` when there is no gold id.

    >>> reciprocal_rank(["x", "y", "a"], {"a"}), reciprocal_rank(["x", "y", "a"], {"a"}, k=2)
    (0.3333333333333333, 0.0)
    """
    gold = set(gold)
    if not gold:
        return None
    for rank, doc_id in enumerate(retrieved[:k], start=1):
        if doc_id in gold:
            return 1.0 / rank
    return 0.0


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the values that are not ``None``; ``None`` when there are none."""
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def retrieval_scores(
    pairs: Iterable[tuple[Sequence[str], Sequence[str] | None]], ks: Sequence[int] = K_VALUES
) -> dict[str, Any]:
    """hit@k, recall@k and MRR@max(k) averaged over the (retrieved, gold) pairs with gold ids.

    >>> retrieval_scores([(["a", "b"], ["b"]), (["c"], None)], ks=(1, 5))
    {'n': 1, 'hit@1': 0.0, 'hit@5': 1.0, 'recall@1': 0.0, 'recall@5': 1.0, 'mrr': 0.5}
    """
    scored = [(list(r), list(g)) for r, g in pairs if g]
    out: dict[str, Any] = {"n": len(scored)}
    for k in ks:
        out[f"hit@{k}"] = mean(hit_at_k(r, g, k) for r, g in scored)
    for k in ks:
        out[f"recall@{k}"] = mean(recall_at_k(r, g, k) for r, g in scored)
    out["mrr"] = mean(reciprocal_rank(r, g, max(ks)) for r, g in scored)
    return out


def outcome_accuracy(pairs: Iterable[tuple[str | None, str]]) -> float | None:
    """Share of (expected, actual) pairs where the outcome matches; unlabelled pairs skipped.

    >>> outcome_accuracy([("answered", "answered"), ("abstained", "answered"), (None, "x")])
    0.5
    """
    labelled = [(e, a) for e, a in pairs if e is not None]
    if not labelled:
        return None
    return sum(e == a for e, a in labelled) / len(labelled)


def confusion_matrix(
    pairs: Iterable[tuple[str | None, str]], labels: Sequence[str]
) -> dict[str, dict[str, int]]:
    """Counts ``matrix[expected][actual]`` over labelled pairs; every label is a row and column.

    An actual value outside ``labels`` (``error``) gets its own column.

    >>> confusion_matrix([("answered", "abstained")], ["answered", "abstained"])
    {'answered': {'answered': 0, 'abstained': 1}, 'abstained': {'answered': 0, 'abstained': 0}}
    """
    labelled = [(e, a) for e, a in pairs if e is not None]
    columns = list(labels) + sorted({a for _, a in labelled} - set(labels))
    matrix = {e: dict.fromkeys(columns, 0) for e in labels}
    for expected, actual in labelled:
        matrix.setdefault(expected, dict.fromkeys(columns, 0))[actual] += 1
    return matrix


def escalation_scores(
    pairs: Iterable[tuple[str | None, str]], positive: str = "escalated"
) -> dict[str, Any]:
    """Precision, recall and F1 of ``positive`` (escalation) over labelled (expected, actual).

    precision = TP / (TP + FP), recall = TP / (TP + FN), F1 = 2TP / (2TP + FP + FN); each is
    ``None`` when its denominator is 0 (no escalation predicted, none expected, neither).

    >>> escalation_scores([("escalated", "escalated"), ("answered", "escalated"),
    ...                    ("escalated", "abstained"), ("answered", "answered")])["f1"]
    0.5
    """
    labelled = [(e == positive, a == positive) for e, a in pairs if e is not None]
    tp = sum(e and a for e, a in labelled)
    fp = sum(a and not e for e, a in labelled)
    fn = sum(e and not a for e, a in labelled)
    tn = len(labelled) - tp - fp - fn
    return {
        "n": len(labelled),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "precision": tp / (tp + fp) if tp + fp else None,
        "recall": tp / (tp + fn) if tp + fn else None,
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None,
    }


def citation_validity(cited: Sequence[str], retrieved: Sequence[str]) -> float | None:
    """1.0 when every cited id is among the turn's retrieved ids, else 0.0; ``None`` if no citation.

    >>> citation_validity(["a"], ["a", "b"]), citation_validity(["z"], ["a"]), citation_validity([], [])
    (1.0, 0.0, None)
    """  # noqa: E501
    if not cited:
        return None
    return 1.0 if set(cited) <= set(retrieved) else 0.0


def memory_recall(expected: Sequence[str] | None, memories: Sequence[str]) -> float | None:
    """Share of expected strings found (case-insensitive substring) in any recalled memory.

    ``None`` when the case expects no memory.

    >>> memory_recall(["premium plan", "Spanish"], ["On the Premium plan"])
    0.5
    """
    if not expected:
        return None
    lowered = [m.casefold() for m in memories]
    return sum(any(e.casefold() in m for m in lowered) for e in expected) / len(expected)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0..100), linear between closest ranks (numpy's default).

    >>> percentile([10, 20, 30, 40], 50), percentile([10, 20, 30, 40], 95), percentile([], 50)
    (25.0, 38.5, None)
    """
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (position - low))


def pass_hat_k(trials: Iterable[tuple[int, int]], k: int) -> float | None:
    """pass^k as defined by tau2-bench: mean over cases of C(c, k) / C(n, k).

    Each case is ``(n, c)``: ``n`` trials of which ``c`` passed. It is the chance that
    ``k`` trials drawn without replacement all pass, so it falls as ``k`` grows unless the
    agent is consistent. Cases with fewer than ``k`` trials are left out; ``None`` if none.

    >>> pass_hat_k([(4, 4), (4, 2), (4, 0)], 1), pass_hat_k([(4, 4), (4, 2), (4, 0)], 2)
    (0.5, 0.3888888888888889)
    """
    ratios = [math.comb(c, k) / math.comb(n, k) for n, c in trials if n >= k and k >= 1]
    return sum(ratios) / len(ratios) if ratios else None


def auroc(positives: Sequence[float], negatives: Sequence[float]) -> float | None:
    """Area under the ROC curve: P(score of a positive > score of a negative), ties half.

    The Mann-Whitney statistic over every (positive, negative) pair:
    AUROC = (#{p > n} + 0.5 * #{p == n}) / (len(positives) * len(negatives)). 1.0 when every
    positive scores above every negative, 0.5 for no separation. ``None`` when either side
    is empty.

    >>> auroc([0.9, 0.8], [0.1, 0.8]), auroc([0.2], [0.5]), auroc([], [0.5])
    (0.875, 0.0, None)
    """
    if not positives or not negatives:
        return None
    ordered = sorted(negatives)
    greater = ties = 0
    for score in positives:
        below = bisect_left(ordered, score)
        greater += below
        ties += bisect_right(ordered, score) - below
    return (greater + 0.5 * ties) / (len(positives) * len(negatives))


def false_abstention_at(
    answered: Sequence[float], abstained: Sequence[float], recall: float = 0.8
) -> tuple[float | None, float | None]:
    """(threshold, false abstention rate) when abstaining below a confidence threshold.

    The threshold is the lowest confidence at or below which ``recall`` of the cases that
    should abstain fall (abstain when confidence <= threshold); the rate is the share of
    the cases that should be answered at or below it too. Ties count against the agent.
    ``(None, None)`` when either side is empty.

    >>> false_abstention_at([0.9, 0.5, 0.1, 0.7], [0.0, 0.2, 0.3, 0.6, 0.95])
    (0.6, 0.5)
    """
    if not answered or not abstained:
        return None, None
    ordered = sorted(abstained)
    needed = max(1, math.ceil(recall * len(ordered) - 1e-9))
    threshold = ordered[needed - 1]
    return threshold, sum(a <= threshold for a in answered) / len(answered)


def abstention_separation(
    pairs: Iterable[tuple[str | None, float]], recall: float = 0.8
) -> dict[str, Any]:
    """How well confidence separates (expected outcome, confidence) ``answered`` from ``abstained``.

    AUROC with answered cases as positives (1.0: every answerable question is more
    confident than every one to abstain on), and the false abstention rate at ``recall``
    of the out-of-scope cases (``false_abstention_at``). Other outcomes are left out.

    >>> abstention_separation([("answered", 0.9), ("answered", 0.4), ("abstained", 0.1),
    ...                        ("abstained", 0.5), ("escalated", 0.0)])
    {'n_answered': 2, 'n_abstained': 2, 'auroc': 0.75, 'threshold': 0.5, 'false_abstention': 0.5}
    """
    kept = list(pairs)
    answered = [c for e, c in kept if e == "answered"]
    abstained = [c for e, c in kept if e == "abstained"]
    threshold, rate = false_abstention_at(answered, abstained, recall)
    return {
        "n_answered": len(answered),
        "n_abstained": len(abstained),
        "auroc": auroc(answered, abstained),
        "threshold": threshold,
        "false_abstention": rate,
    }


_FUNCTION_WORDS = """a about above after again all am an and any are as at be been being before
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers herself him himself his how i if in into is it its
    itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we
    were what when where which while who whom why will with would you your yours yourself
    yourselves also please tell know like get"""
STOPWORDS = frozenset(_FUNCTION_WORDS.split())
"""Function words left out of the content-word F1 (rewrites differ in them freely)."""
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def _tokens(text: str, *, content_only: bool = False) -> list[str]:
    """SQuAD's normalisation: lowercase, no punctuation, no articles, split on whitespace."""
    words = _ARTICLES.sub(" ", text.lower().translate(_PUNCTUATION)).split()
    return [w for w in words if w not in STOPWORDS] if content_only else words


def _f1(prediction: list[str], reference: list[str]) -> float:
    if not prediction or not reference:
        return float(prediction == reference)
    common = sum((Counter(prediction) & Counter(reference)).values())
    return 2 * common / (len(prediction) + len(reference))  # = 2PR / (P + R)


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD token F1: harmonic mean of token precision and recall after normalisation.

    Both empty (after normalisation) is 1.0, one empty is 0.0.

    >>> token_f1("3-5 business days", "It takes 3-5 business days."), token_f1("", "")
    (0.75, 1.0)
    """
    return _f1(_tokens(prediction), _tokens(reference))


def content_f1(prediction: str, reference: str) -> float:
    """``token_f1`` over content words only (``STOPWORDS`` dropped): for search queries.

    >>> content_f1("what is its price", "What is the price of the Gold card?")
    0.5
    """
    return _f1(_tokens(prediction, content_only=True), _tokens(reference, content_only=True))
