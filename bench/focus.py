"""The asking sentences' share of the ranking: search with and without it, same KB, same run.

A chat message that tells a story and asks ("I bought a Lumora Bulb … Can I return it for
a refund?") is ranked by its cosine plus its asking sentences' cosine
(``tools.knowledge_base.focus``). This searches each case's query (``form_query`` over
its transcript) both ways, LLM-free, and reports hit@1, hit@5 and MRR, and how many
queries the focus applies to. Datasets are ``support-agent eval-data`` files or the
shipped ``evaluations/datasets``; each knowledge base is ingested once into ``--store``::

    support-agent eval-data mtrag --out /tmp/evaldata
    .venv/bin/python bench/focus.py --store /tmp/focus-store \\
        sample_kb=evaluations/datasets/sample_kb.jsonl:sample_kb \\
        mtrag=/tmp/evaldata/mtrag.jsonl:/tmp/evaldata/mtrag-kb.jsonl
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import tools.knowledge_base.search as hybrid  # noqa: E402
from bench._common import write_result  # noqa: E402
from evaluations.dataset import load_dataset  # noqa: E402
from evaluations.metrics import hit_at_k, mean, reciprocal_rank  # noqa: E402
from graph.query import form_query  # noqa: E402
from state import Settings  # noqa: E402
from tools.knowledge_base.focus import asking_part  # noqa: E402
from tools.services import create_services  # noqa: E402


async def measure(name: str, cases_path: Path, kb_path: Path, store: Path) -> dict[str, Any]:
    settings = Settings(
        _env_file=None,
        data_dir=store / name,
        database_url=f"sqlite+aiosqlite:///{store / name}/support.db",
        llm_model=None,
    )
    services = await create_services(settings)
    try:
        await services.kb.ingest([kb_path], "default")
        await services.kb.warm_up("default")
        rarity = services.kb.rarity("default")
        queries = []
        for case in load_dataset(cases_path).cases:
            if case.expected_doc_ids:
                turns = [(m.role, m.text) for m in case.threads[-1]]
                queries.append((form_query(turns, rarity), case.expected_doc_ids))
        result: dict[str, Any] = {
            "queries": len(queries),
            "with_focus": sum(1 for q, _ in queries if asking_part(q)),
        }
        for label, focus in (("without", lambda _q: None), ("with", asking_part)):
            hybrid.asking_part = focus  # this process only
            rows = []
            for query, gold in queries:
                ranking = (await services.kb.search(query, "default")).ranking
                rows.append(
                    (
                        hit_at_k(ranking, gold, 1),
                        hit_at_k(ranking, gold, 5),
                        reciprocal_rank(ranking, gold),
                    )
                )
            result[label] = {
                metric: round(mean(row[i] for row in rows) or 0.0, 4)
                for i, metric in enumerate(("hit@1", "hit@5", "mrr"))
            }
        return result
    finally:
        hybrid.asking_part = asking_part
        await services.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+", help="name=cases.jsonl:knowledge-base-path")
    parser.add_argument("--store", type=Path, required=True)
    args = parser.parse_args()
    results = {}
    for spec in args.sets:
        name, paths = spec.split("=", 1)
        cases, kb = paths.split(":", 1)
        results[name] = asyncio.run(measure(name, Path(cases), Path(kb), args.store))
        print(name, results[name])
    write_result("focus", {"sets": results})


if __name__ == "__main__":
    main()
