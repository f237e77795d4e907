"""Escalation quality: precision / recall / F1 on tau2 banking, false escalations on BANKING77.

Plain script (run by hand or `make bench`); prints tables, writes bench/results/escalation.json.

What a tau2 customer "says": the task instructions are stage directions for a simulated
customer ("Start by saying you want to...", "If verification fails, demand to be
transferred to a human agent", quoted lines like "This is unacceptable!"). Each
behaviour line is turned into what the customer would say when it applies: the
action after a leading condition ("If ..., <action>") and every quoted phrase. A task
is predicted "escalate" when any of its utterances escalates under the default policy
(rules and the semantic intent heads, as the route node decides)
(repeated_failure is left out: it needs the live dialogue). Gold: the task's
evaluation actions include transfer_to_human_agents (13 of 97).

BANKING77: 500 test queries (fixed seed), all in scope for a bank; an escalation there
is counted as false, and the intents responsible are listed (some, like a stolen card,
are arguably right to escalate).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from evaluations.adapters import utterances  # noqa: E402
from state import EscalationPolicy  # noqa: E402
from tools.embeddings.sentence import SentenceEmbeddings  # noqa: E402
from tools.escalation.intent import intent_heads  # noqa: E402
from tools.escalation.policy import escalation_reasons  # noqa: E402

_EMBEDDINGS = SentenceEmbeddings()

POLICY = EscalationPolicy(
    enabled_reasons=[r for r in EscalationPolicy().enabled_reasons if r != "repeated_failure"]
)


BANK_WITH_DISPUTE_TOOLS = EscalationPolicy(
    enabled_reasons=["human_requested", "not_helpful", "legal", "account_closure", "frustration"]
)
"""A tenant whose assistant handles fraud and disputes itself (tau2's bank has tools for them)."""


def escalates(texts: list[str], policy: EscalationPolicy = POLICY) -> list[str]:
    """The reasons, as the route node finds them: the rules plus the semantic heads."""
    found: list[str] = []
    heads = intent_heads()
    for text in texts:
        intents = heads.detect(_EMBEDDINGS.embed_query(text)) if text.strip() else []
        found += escalation_reasons(
            text, abstain_streak=0, will_abstain=False, policy=policy, intents=intents
        )
    return list(dict.fromkeys(found))


def tau2(data: Path) -> dict:
    rows = []
    for path in sorted((data / "tau2_banking_knowledge" / "tasks").glob("*.json")):
        task = json.loads(path.read_text())
        actions = task.get("evaluation_criteria", {}).get("actions") or []
        gold = any(a.get("name") == "transfer_to_human_agents" for a in actions)
        said = utterances(task["user_scenario"]["instructions"])
        rows.append(
            {
                "id": task["id"],
                "gold": gold,
                "reasons": escalates(said),
                "opening": escalates(said[:1]),
                "bank": escalates(said, BANK_WITH_DISPUTE_TOOLS),
            }
        )
    result = {}
    for name, key in (
        ("all utterances", "reasons"),
        ("opening line only", "opening"),
        ("all utterances, bank policy", "bank"),
    ):
        tp = sum(1 for r in rows if r["gold"] and r[key])
        fp = sum(1 for r in rows if not r["gold"] and r[key])
        fn = sum(1 for r in rows if r["gold"] and not r[key])
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        result[name] = {
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "precision": round(precision, 3),
            "recall": round(recall, 3),
            "f1": round(f1, 3),
        }
    result["false_positive_reasons"] = Counter(
        reason for r in rows if not r["gold"] for reason in r["reasons"]
    ).most_common()
    return result


def banking77(data: Path, n: int) -> dict:
    with (data / "banking77" / "test.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    sample = random.Random(7).sample(rows, n)
    flagged = [(r["category"], escalates([r["text"]]), r["text"]) for r in sample]
    hits = [f for f in flagged if f[1]]
    return {
        "n": n,
        "escalated": len(hits),
        "false_escalation_rate": round(len(hits) / n, 4),
        "by_intent": Counter(f[0] for f in hits).most_common(10),
        "by_reason": Counter(reason for f in hits for reason in f[1]).most_common(),
        "examples": [f[2] for f in hits[:8]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "escalation.json"))
    args = parser.parse_args()
    data = Path(args.data)
    if not (data / "tau2_banking_knowledge").is_dir():
        sys.exit(f"shared data not found at {data} (use --data)")
    console = Console()
    result = {"tau2": tau2(data), "banking77": banking77(data, args.n)}
    table = Table(title="Escalation on 97 tau2 banking tasks (13 transfer to a human)")
    for column in ("customer text", "TP", "FP", "FN", "precision", "recall", "F1"):
        table.add_column(column, justify="right")
    for name in ("all utterances", "opening line only", "all utterances, bank policy"):
        r = result["tau2"][name]
        table.add_row(
            name,
            str(r["tp"]),
            str(r["fp"]),
            str(r["fn"]),
            f"{r['precision']:.3f}",
            f"{r['recall']:.3f}",
            f"{r['f1']:.3f}",
        )
    console.print(table)
    console.print(f"false-positive reasons: {result['tau2']['false_positive_reasons']}")
    b = result["banking77"]
    console.print(
        f"BANKING77: {b['escalated']} of {b['n']} in-scope queries escalated "
        f"(false-escalation rate {b['false_escalation_rate']:.3f}); by intent {b['by_intent']}; "
        f"by reason {b['by_reason']}"
    )
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    console.print(f"wrote {args.out} (command: {' '.join(sys.argv)})")


if __name__ == "__main__":
    main()
