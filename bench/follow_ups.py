"""Follow-up queries on DSTC10: the subject-carrying query against the simple baselines.

Searches each knowledge-seeking turn of ``support-agent eval-data dstc10`` three ways
over the same knowledge base, LLM-free: the last message alone, the previous turn plus
the last message (plain concatenation), and ``graph.query.form_query`` over the whole
transcript. Reports hit@5 and MRR for each. The knowledge base is ingested once into
``--store`` (reuse the store an earlier run left)::

    support-agent eval-data dstc10 --out /tmp/dstc10
    .venv/bin/python bench/follow_ups.py /tmp/dstc10 --store /tmp/dstc10-store
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evaluations.dataset import load_dataset  # noqa: E402
from evaluations.metrics import hit_at_k, mean, reciprocal_rank  # noqa: E402
from graph.query import form_query  # noqa: E402
from state import Settings  # noqa: E402
from tools.services import create_services  # noqa: E402


async def run(data: Path, store: Path) -> dict[str, dict[str, float | None]]:
    dataset = load_dataset(data / "dstc10.jsonl")
    settings = Settings(
        _env_file=None,
        data_dir=store,
        database_url=f"sqlite+aiosqlite:///{store}/support.db",
        llm_model=None,
    )
    services = await create_services(settings)
    try:
        await services.kb.ingest([data / "dstc10-kb.jsonl"], "default")
        await services.kb.warm_up("default")
        rarity = services.kb.rarity("default")
        scores: dict[str, list[tuple[float | None, float | None]]] = {}
        for case in dataset.cases:
            turns = [(m.role, m.text) for m in case.threads[-1]]
            queries = {
                "last message": turns[-1][1],
                "previous + last": f"{turns[-2][1]} {turns[-1][1]}" if len(turns) > 1 else "",
                "form_query": form_query(turns, rarity),
            }
            gold = case.expected_doc_ids or ()
            for name, query in queries.items():
                ranking = (await services.kb.search(query or turns[-1][1], "default")).ranking
                scores.setdefault(name, []).append(
                    (hit_at_k(ranking, gold, 5), reciprocal_rank(ranking, gold))
                )
        return {
            name: {
                "hit@5": round(mean(h for h, _ in rows) or 0.0, 4),
                "mrr": round(mean(r for _, r in rows) or 0.0, 4),
            }
            for name, rows in scores.items()
        }
    finally:
        await services.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="the folder eval-data dstc10 wrote")
    parser.add_argument("--store", type=Path, required=True)
    args = parser.parse_args()
    args.store.mkdir(parents=True, exist_ok=True)
    result = asyncio.run(run(args.data, args.store))
    out = ROOT / "bench" / "results" / "follow_ups.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
