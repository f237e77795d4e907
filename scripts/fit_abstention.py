"""Fit the abstention model shipped in ``tools/knowledge_base/abstention.json``.

Run from the project root (needs ``../shared/data``)::

    .venv/bin/python scripts/fit_abstention.py [--data ../shared/data]

A logistic model of the search's signals (``tools/knowledge_base/confidence.py``) on
CLINC150's *validation* split: in-scope validation questions (answer) against the
out-of-scope train and validation questions (abstain), searched in the knowledge base
that ``support-agent eval-data clinc150`` builds from the train split. The cut-off is
the probability that maximises the share of in-scope questions answered minus twice the
share of out-of-scope ones answered there (a wrong answer costs more than a question back). CLINC150's test split,
BANKING77 and MTRAG are never read: they are what ``support-agent eval`` measures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evaluations.adapters import clinc150_cases, write_kb  # noqa: E402
from state import Settings  # noqa: E402
from tools.knowledge_base.confidence import MODEL_PATH, AbstentionModel, Signals  # noqa: E402
from tools.services import create_services  # noqa: E402

IN_SCOPE = 1000
SEED = 13
WRONG_ANSWER_COST = 2.0


def questions(data: Path) -> tuple[list[str], list[str]]:
    """(in-scope validation questions, out-of-scope train + validation questions)."""
    full = json.loads((data / "clinc150" / "data_full.json").read_text(encoding="utf-8"))
    rng = random.Random(SEED)
    in_scope = rng.sample([t for t, _ in full["val"]], IN_SCOPE)
    return in_scope, [t for t, _ in full["oos_train"] + full["oos_val"]]


async def signals_of(data: Path, texts: list[str], store: Path) -> list[Signals]:
    """Each text's search signals over the CLINC150 train knowledge base."""
    _, kb = clinc150_cases(data)
    kb_file = write_kb(store / "clinc150_kb.jsonl", kb)
    settings = Settings(
        _env_file=None,
        data_dir=store,
        database_url=f"sqlite+aiosqlite:///{store}/app.db",
        llm_model=None,
    )
    services = await create_services(settings)
    try:
        await services.kb.ingest([kb_file], "default")
        out = []
        for text in texts:
            result = await services.kb.search(text, "default")
            assert result.signals is not None
            out.append(result.signals)
        return out
    finally:
        await services.aclose()


def fit(x: np.ndarray, y: np.ndarray, l2: float = 1e-2, steps: int = 50) -> np.ndarray:
    """Logistic regression by Newton's method (weights then bias), class-balanced."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    balance = np.where(y == 1, 0.5 / y.mean(), 0.5 / (1 - y.mean()))
    w = np.zeros(xb.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-xb @ w))
        grad = xb.T @ (balance * (p - y)) + l2 * w
        hess = (xb * (balance * p * (1 - p))[:, None]).T @ xb + l2 * np.eye(len(w))
        w -= np.linalg.solve(hess, grad)
    return w


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()
    in_scope, out_of_scope = questions(args.data)
    with tempfile.TemporaryDirectory() as tmp:
        found = asyncio.run(signals_of(args.data, in_scope + out_of_scope, Path(tmp)))
    x = np.array([s.vector() for s in found])
    y = np.array([1.0] * len(in_scope) + [0.0] * len(out_of_scope))
    w = fit(x, y)
    p = 1 / (1 + np.exp(-(np.hstack([x, np.ones((len(x), 1))]) @ w)))
    cuts = np.linspace(0.05, 0.95, 91)
    # A wrong answer costs a customer more than a question back ("could you tell me
    # more?"): the cut-off maximises in-scope answered minus twice out-of-scope answered.
    utility = [(p[y == 1] >= c).mean() - WRONG_ANSWER_COST * (p[y == 0] >= c).mean() for c in cuts]
    best = int(np.argmax(utility))
    cut = round(float(cuts[best]), 2)
    model = AbstentionModel(tuple(round(float(v), 4) for v in w[:-1]), round(float(w[-1]), 4), cut)
    MODEL_PATH.write_text(json.dumps(model.to_json()) + "\n", encoding="utf-8")
    answered_in = float((p[y == 1] >= cut).mean())
    answered_out = float((p[y == 0] >= cut).mean())
    print(
        json.dumps(
            {
                **model.to_json(),
                "val_in_scope_answered": round(answered_in, 4),
                "val_out_of_scope_answered": round(answered_out, 4),
            }
        )
    )


if __name__ == "__main__":
    main()
