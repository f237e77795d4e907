"""Reports of an evaluation run: JSON (stable keys), Markdown, PNG charts, and comparison.

``build_report`` aggregates the runner's per-trial records with the metric
functions; the JSON it returns is the machine-readable contract (``schema``
names its version; keys are only ever added). Aggregates are taken over every
trial of every case that carries the label, and say how many that was (``n``).
``compare`` diffs two reports' headline figures: latency and false abstention are
better lower, everything else better higher.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from evaluations.dataset import OUTCOMES, Case
from evaluations.metrics import (
    K_VALUES,
    abstention_separation,
    confusion_matrix,
    escalation_scores,
    mean,
    outcome_accuracy,
    pass_hat_k,
    percentile,
)
from evaluations.runner import EvalRun

__all__ = [
    "SCHEMA",
    "build_report",
    "compare",
    "headline",
    "render_comparison",
    "render_markdown",
    "write_charts",
    "write_report",
]

SCHEMA = "support-agent-eval/1"
ABSTAIN_RECALL = 0.8
"""Share of the cases that should abstain the threshold must catch (false abstention at it)."""
_LOWER_IS_BETTER = ("latency_ms.", "abstention.false_abstention")
_NOISY = ("latency_ms.",)


def _r(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def _score_mean(records: list[dict[str, Any]], key: str) -> dict[str, Any]:
    values = [r["scores"][key] for r in records if r["scores"].get(key) is not None]
    return {"n": len(values), "value": _r(mean(values))}


def _separation(pairs: list[tuple[str | None, float]]) -> dict[str, Any]:
    out = abstention_separation(pairs, ABSTAIN_RECALL)
    return {**out, **{k: _r(out[k]) for k in ("auroc", "threshold", "false_abstention")}}


def _abstention(records: list[dict[str, Any]], cases: dict[str, Case]) -> dict[str, Any]:
    """Confidence as an answer-or-abstain score: overall and per ``metadata.answerability``.

    Each answerability label is set against the other side: a label whose cases should
    abstain (unanswerable, underspecified) against every case that should be answered,
    and a label whose cases should be answered against every case that should abstain.
    """
    scored = [r for r in records if not r["error"] and r.get("confidence") is not None]
    side: dict[str | None, list[tuple[str | None, float]]] = defaultdict(list)
    by_label: dict[str, list[tuple[str | None, float]]] = defaultdict(list)
    for r in scored:
        pair = (r["expected_outcome"], float(r["confidence"]))
        side[pair[0]].append(pair)
        case = cases.get(r["case_id"])
        label = case.metadata.get("answerability") if case else None
        if isinstance(label, str) and pair[0] in ("answered", "abstained"):
            by_label[label].append(pair)
    out: dict[str, Any] = {
        "recall": ABSTAIN_RECALL,
        **_separation(side["answered"] + side["abstained"]),
    }
    out["by_answerability"] = {
        label: _separation(pairs + side["abstained" if pairs[0][0] == "answered" else "answered"])
        for label, pairs in sorted(by_label.items())
    }
    return out


def _rewrite(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The turns' search queries, and two baselines, against gold standalone rewrites."""
    query = _score_mean(records, "rewrite_f1")
    return {
        "n": query["n"],
        "query_f1": query["value"],
        "last_message_f1": _score_mean(records, "rewrite_f1_last")["value"],
        "previous_last_f1": _score_mean(records, "rewrite_f1_previous_last")["value"],
    }


def build_report(run: EvalRun, *, langsmith: Any = "not configured") -> dict[str, Any]:
    """The report of a run: headline figures, per-case records, and how it was made."""
    records = run.records
    pairs = [(r["expected_outcome"], r["outcome"]) for r in records]
    retrieval: dict[str, Any] = {"n": _score_mean(records, "hit@1")["n"]}
    for k in K_VALUES:
        retrieval[f"hit@{k}"] = _score_mean(records, f"hit@{k}")["value"]
    for k in K_VALUES:
        retrieval[f"recall@{k}"] = _score_mean(records, f"recall@{k}")["value"]
    retrieval["mrr"] = _score_mean(records, "rr")["value"]
    labelled = [p for p in pairs if p[0] is not None]
    escalation = escalation_scores(pairs)
    escalation.update({k: _r(escalation[k]) for k in ("precision", "recall", "f1")})
    latencies = [ms for r in records for ms in r["turn_latency_ms"]]
    by_case: dict[str, list[bool]] = defaultdict(list)
    for r in records:
        by_case[r["case_id"]].append(bool(r["passed"]))
    trials = [(len(v), sum(v)) for v in by_case.values()]
    citations = _score_mean(records, "citation_validity")
    memory = _score_mean(records, "memory_recall")
    answers = _score_mean(records, "answer_f1")
    judged = [r["judge"] for r in records if r.get("judge")]
    judge: dict[str, Any]
    if run.judge.get("skipped") or not run.judge:
        judge = {"skipped": run.judge.get("skipped", "no judge")}
    else:
        judge = {**run.judge}
        for key in ("correctness", "groundedness"):
            values = [j[key] for j in judged if j.get(key) is not None]
            judge[key] = {"n": len(values), "value": _r(mean(values))}
        judge["errors"] = sum(1 for j in judged if j.get("error"))
    return {
        "schema": SCHEMA,
        "run": {
            "id": run.run_id,
            "dataset": run.dataset.as_dict(),
            "cases": len(run.dataset.cases),
            "repeat": run.repeat,
            "trials": len(records),
            "mode": run.mode,
            "started": run.started,
            "seconds": run.seconds,
            "kb": run.kb,
            "settings": run.settings,
        },
        "retrieval": retrieval,
        "outcomes": {
            "n": len(labelled),
            "accuracy": _r(outcome_accuracy(pairs)),
            "confusion": confusion_matrix(pairs, OUTCOMES),
            "counts": {
                o: sum(1 for r in records if r["outcome"] == o) for o in (*OUTCOMES, "error")
            },
        },
        "escalation": escalation,
        "abstention": _abstention(records, {c.id: c for c in run.dataset.cases}),
        "answers": {"n": answers["n"], "token_f1": answers["value"]},
        "rewrite": _rewrite(records),
        "citations": {"n": citations["n"], "validity": citations["value"]},
        "memory": {"n": memory["n"], "recall": memory["value"]},
        "latency_ms": {
            "n": len(latencies),
            "p50": _r(percentile(latencies, 50), 1),
            "p95": _r(percentile(latencies, 95), 1),
            "mean": _r(mean(latencies), 1),
            "max": max(latencies, default=None),
        },
        "consistency": {
            **{f"pass^{k}": _r(pass_hat_k(trials, k)) for k in range(1, run.repeat + 1)},
        },
        "judge": judge,
        "errors": [
            {"case_id": r["case_id"], "trial": r["trial"], "error": r["error"]}
            for r in records
            if r["error"]
        ],
        "langsmith": langsmith,
        "cases": records,
    }


def headline(report: dict[str, Any]) -> dict[str, float]:
    """The comparable figures of a report, flattened (``retrieval.hit@5`` ...)."""
    flat: dict[str, Any] = {}
    for key in ("retrieval", "escalation", "latency_ms", "consistency"):
        for name, value in report.get(key, {}).items():
            if name not in ("n", "tp", "fp", "fn", "tn", "max", "mean"):
                flat[f"{key}.{name}"] = value
    flat["outcomes.accuracy"] = report.get("outcomes", {}).get("accuracy")
    flat["citations.validity"] = report.get("citations", {}).get("validity")
    flat["memory.recall"] = report.get("memory", {}).get("recall")
    for section, name in (
        ("abstention", "auroc"),
        ("abstention", "false_abstention"),
        ("answers", "token_f1"),
        ("rewrite", "query_f1"),
    ):
        flat[f"{section}.{name}"] = report.get(section, {}).get(name)
    for key in ("correctness", "groundedness"):
        value = report.get("judge", {}).get(key)
        if isinstance(value, dict):
            flat[f"judge.{key}"] = value.get("value")
    return {k: float(v) for k, v in flat.items() if isinstance(v, int | float)}


def compare(
    previous: dict[str, Any], current: dict[str, Any], *, tolerance: float = 0.005
) -> dict[str, Any]:
    """Regressions and improvements of ``current`` over ``previous`` (beyond ``tolerance``).

    Scores (0..1) change when they move by more than ``tolerance``; latency, which is
    noisy, when it moves by more than 10% of the previous value (and at least 1 ms).
    """
    before, after = headline(previous), headline(current)
    out: dict[str, Any] = {"regressions": [], "improvements": [], "unchanged": [], "missing": []}
    for name in sorted(before.keys() | after.keys()):
        if name not in before or name not in after:
            out["missing"].append(name)
            continue
        old, new = before[name], after[name]
        delta = new - old
        lower_better = name.startswith(_LOWER_IS_BETTER)
        bar = max(abs(old) * 0.10, 1.0) if name.startswith(_NOISY) else tolerance
        entry = {"metric": name, "previous": old, "current": new, "delta": round(delta, 4)}
        if abs(delta) <= bar:
            out["unchanged"].append(name)
        elif (delta < 0) != lower_better:
            out["regressions"].append(entry)
        else:
            out["improvements"].append(entry)
    return out


def render_comparison(diff: dict[str, Any]) -> str:
    """The comparison as text lines."""
    lines = []
    for title, key in (("Regressions", "regressions"), ("Improvements", "improvements")):
        lines.append(f"{title}: {len(diff[key])}")
        lines += [
            f"  {e['metric']}: {e['previous']:.4g} -> {e['current']:.4g} ({e['delta']:+.4g})"
            for e in diff[key]
        ]
    lines.append(f"Unchanged: {len(diff['unchanged'])}")
    if diff["missing"]:
        lines.append(f"Only in one report: {', '.join(diff['missing'])}")
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _why(record: dict[str, Any]) -> str:
    """Which checks of ``case_passed`` a failed trial missed."""
    if record["error"]:
        return str(record["error"])
    scores, reasons = record["scores"], []
    if record["expected_outcome"] not in (None, record["outcome"]):
        reasons.append(f"{record['outcome']}, expected {record['expected_outcome']}")
    if scores.get("hit@5") == 0.0 and record["expected_outcome"] != "abstained":
        reasons.append("no gold document in the top 5")
    if scores.get("memory_recall") not in (None, 1.0):
        reasons.append(f"memory recall {scores['memory_recall']:.2f}")
    if scores.get("citation_validity") == 0.0:
        reasons.append("cites a document it did not retrieve")
    return "; ".join(reasons)


def _quality_rows(report: dict[str, Any]) -> list[str]:
    """Abstention separation, answer F1 and rewrite F1 rows (``–`` where unlabelled)."""
    a = report.get("abstention") or _separation([])
    answers = report.get("answers") or {"n": 0, "token_f1": None}
    rw = report.get("rewrite") or dict.fromkeys(("n", "query_f1"))
    recall = f"{a.get('recall', ABSTAIN_RECALL):.0%}"
    threshold = "" if a["threshold"] is None else f" (confidence ≤ {a['threshold']:.3f})"
    return [
        f"| abstention AUROC (confidence) | {_fmt(a['auroc'])} | "
        f"{a['n_answered']} + {a['n_abstained']} |",
        f"| false abstention at {recall} out-of-scope recall{threshold} | "
        f"{_fmt(a['false_abstention'])} | {a['n_answered']} |",
        f"| answer token F1 | {_fmt(answers['token_f1'])} | {answers['n']} |",
        f"| rewrite F1: the turn's query | {_fmt(rw['query_f1'])} | {rw['n']} |",
        f"| rewrite F1: last message | {_fmt(rw.get('last_message_f1'))} | {rw['n']} |",
        f"| rewrite F1: previous + last message | {_fmt(rw.get('previous_last_f1'))} | {rw['n']} |",
    ]


def _answerability_table(abstention: dict[str, Any]) -> list[str]:
    """Per-answerability separation, when the dataset labels it (MTRAG)."""
    by_label = abstention.get("by_answerability") or {}
    if not by_label:
        return []
    lines = [
        "",
        "## Abstention by answerability (each label against the other side)",
        "",
        "| answerability | AUROC | false abstention | threshold | n answered + abstained |",
        "|---|---|---|---|---|",
    ]
    for label, a in by_label.items():
        lines.append(
            f"| {label} | {_fmt(a['auroc'])} | {_fmt(a['false_abstention'])} | "
            f"{_fmt(a['threshold'])} | {a['n_answered']} + {a['n_abstained']} |"
        )
    return lines


def render_markdown(report: dict[str, Any]) -> str:
    """A human summary: headline tables, the confusion matrix, failures."""
    run = report["run"]
    r, e, lat = report["retrieval"], report["escalation"], report["latency_ms"]
    lines = [
        f"# Evaluation: {run['dataset']['name']}",
        "",
        f"{run['cases']} cases × {run['repeat']} = {run['trials']} trials, {run['mode']}, "
        f"{run['seconds']} s, run `{run['id']}`.",
        "",
        "| metric | value | n |",
        "|---|---|---|",
    ]
    for k in K_VALUES:
        lines.append(f"| hit@{k} | {_fmt(r[f'hit@{k}'])} | {r['n']} |")
    for k in K_VALUES:
        lines.append(f"| recall@{k} | {_fmt(r[f'recall@{k}'])} | {r['n']} |")
    lines += [
        f"| MRR@10 | {_fmt(r['mrr'])} | {r['n']} |",
        f"| outcome accuracy | {_fmt(report['outcomes']['accuracy'])} | "
        f"{report['outcomes']['n']} |",
        f"| escalation precision | {_fmt(e['precision'])} | {e['tp'] + e['fp']} |",
        f"| escalation recall | {_fmt(e['recall'])} | {e['tp'] + e['fn']} |",
        f"| escalation F1 | {_fmt(e['f1'])} | {e['n']} |",
        f"| citation validity | {_fmt(report['citations']['validity'])} | "
        f"{report['citations']['n']} |",
        f"| memory recall | {_fmt(report['memory']['recall'])} | {report['memory']['n']} |",
        *_quality_rows(report),
        f"| latency p50 (ms) | {lat['p50']} | {lat['n']} turns |",
        f"| latency p95 (ms) | {lat['p95']} | {lat['n']} turns |",
    ]
    for name, value in report["consistency"].items():
        lines.append(f"| {name} | {_fmt(value)} | {run['cases']} cases |")
    judge = report["judge"]
    if "skipped" in judge:
        lines.append(f"| LLM judge | skipped: {judge['skipped']} | |")
    else:
        for key in ("correctness", "groundedness"):
            lines.append(f"| judged {key} | {_fmt(judge[key]['value'])} | {judge[key]['n']} |")
    confusion = report["outcomes"]["confusion"]
    columns = list(next(iter(confusion.values())).keys()) if confusion else []
    lines += ["", "## Outcomes (rows: expected, columns: actual)", ""]
    lines += ["| expected \\ actual | " + " | ".join(columns) + " |"]
    lines += ["|---" * (len(columns) + 1) + "|"]
    for expected, row in confusion.items():
        lines.append(f"| {expected} | " + " | ".join(str(row[c]) for c in columns) + " |")
    lines += _answerability_table(report.get("abstention", {}))
    failed = [c for c in report["cases"] if not c["passed"]]
    lines += ["", f"## Failed trials ({len(failed)})", ""]
    for c in failed[:50]:
        lines.append(f"- `{c['case_id']}` trial {c['trial']}: {_why(c)}")
    if len(failed) > 50:
        lines.append(f"- … and {len(failed) - 50} more (see report.json)")
    lines += ["", f"LangSmith: {report['langsmith']}", ""]
    return "\n".join(lines)


def write_charts(report: dict[str, Any], out_dir: Path) -> list[Path]:
    """confusion.png, latency.png and metrics.png (matplotlib, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    confusion = report["outcomes"]["confusion"]
    rows = list(confusion)
    columns = list(next(iter(confusion.values())).keys()) if confusion else []
    fig, ax = plt.subplots(figsize=(5, 4))
    grid = [[confusion[r][c] for c in columns] for r in rows]
    ax.imshow(grid, cmap="Blues")
    ax.set_xticks(range(len(columns)), columns)
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel("actual outcome")
    ax.set_ylabel("expected outcome")
    top = max((v for row in grid for v in row), default=0)
    for i, row in enumerate(grid):
        for j, value in enumerate(row):
            color = "white" if top and value > top / 2 else "black"
            ax.text(j, i, str(value), ha="center", va="center", color=color)
    ax.set_title(f"Outcomes ({report['outcomes']['n']} labelled trials)")
    fig.tight_layout()
    paths.append(out_dir / "confusion.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)

    latencies = [ms for c in report["cases"] for ms in c["turn_latency_ms"]]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    if latencies:
        # Log bins: one cold first turn must not squash the distribution into one bar.
        low, high = max(min(latencies), 0.1), max(max(latencies), 0.2)
        bins = [low * (high / low) ** (i / 40) for i in range(41)] if high > low else 10
        ax.hist(latencies, bins=bins, color="#4c72b0")
        ax.set_xscale("log")
        for q, style in (("p50", "--"), ("p95", ":")):
            value = report["latency_ms"][q]
            ax.axvline(value, color="black", linestyle=style, label=f"{q} {value:.0f} ms")
        ax.legend()
    ax.set_xlabel("turn latency (ms)")
    ax.set_ylabel("turns")
    ax.set_title("Latency per turn")
    fig.tight_layout()
    paths.append(out_dir / "latency.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)

    bars = {k: v for k, v in headline(report).items() if not k.startswith(_LOWER_IS_BETTER)}
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(bars) + 1.2))
    names = list(bars)
    ax.barh(names, [bars[n] for n in names], color="#55a868")
    for i, n in enumerate(names):
        ax.text(min(bars[n] + 0.01, 0.93), i, f"{bars[n]:.3f}", va="center", fontsize=8)
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.set_title("Metrics (higher is better)")
    fig.tight_layout()
    paths.append(out_dir / "metrics.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)
    return paths


def write_report(report: dict[str, Any], out_dir: Path, *, charts: bool = True) -> list[Path]:
    """Write report.json, report.md and (with ``charts``) the PNGs into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "report.json", out_dir / "report.md"]
    paths[0].write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n")
    paths[1].write_text(render_markdown(report), encoding="utf-8")
    if charts:
        paths += write_charts(report, out_dir)
    return paths
