"""First turn after a server starts vs. the next ones, on ``langgraph dev`` and Aegra.

Run from the project root (needs the local PostgreSQL for Aegra)::

    .venv/bin/python bench/server_start.py [langgraph-dev] [aegra]

Each server is started fresh on a copy of the sample KB's data (Aegra on a new
database), then three customers each send one LLM-free question in a new thread,
through langgraph-sdk with a signed token; the seconds of each ``runs.wait`` are
printed. The servers are started the way the integration tests start them
(``tests/servers.py``). Writes ``bench/results/server_start.json``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import sample_kb_data_dir  # noqa: E402

from tests.servers import serve_fresh, token  # noqa: E402

QUESTIONS = ("How do I reset my password?", "How do refunds work?", "Where is my parcel?")
POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


async def _turns(server) -> list[float]:  # type: ignore[no-untyped-def]
    client = server.client(token(f"bench-{uuid.uuid4().hex[:6]}"))
    seconds = []
    for question in QUESTIONS:
        thread = (await client.threads.create())["thread_id"]
        started = time.perf_counter()
        await client.runs.wait(
            thread, "support_agent", input={"messages": [{"role": "user", "content": question}]}
        )
        seconds.append(round(time.perf_counter() - started, 2))
    return seconds


def main() -> None:
    kinds = sys.argv[1:] or ["langgraph-dev", "aegra"]
    data = sample_kb_data_dir()
    results = {}
    for kind in kinds:
        with serve_fresh(kind, data, Path(tempfile.mkdtemp()), POSTGRES) as server:
            results[kind] = asyncio.run(_turns(server))
        first, *warm = results[kind]
        print(f"{kind}: first turn {first:.2f} s, then {', '.join(f'{w:.2f}' for w in warm)} s")
    out = ROOT / "bench" / "results" / "server_start.json"
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
