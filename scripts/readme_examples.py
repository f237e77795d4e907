"""Regenerate the README's examples of the LLM-free answer from the current code.

Run from the project root::

    .venv/bin/python scripts/readme_examples.py

Ingests ``sample_kb/`` into a fresh data directory, asks each example question (a
follow-up in the same thread as the question before it) with the embedded defaults,
and rewrites the block between ``<!-- examples:start -->`` and ``<!-- examples:end -->``
in ``README.md`` with what the agent answered.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graph.embedded import open_agent  # noqa: E402
from state import Settings  # noqa: E402

START, END = "<!-- examples:start -->", "<!-- examples:end -->"
EXAMPLES: list[tuple[str, str | None]] = [
    # (question, comment shown after it) -- a question whose comment starts with "after"
    # follows the previous one in the same thread
    ("How do I request a refund for my order?", None),
    ("How long does it take to reach my credit card?", "after the refund question"),
    ("How do I reset my password?", None),
    ("Can you recommend a good recipe for pasta carbonara?", None),
]


async def examples() -> str:
    data = Path(tempfile.mkdtemp()) / "data"
    blocks = []
    async with open_agent(Settings(_env_file=None, data_dir=data)) as agent:
        await agent.services.kb.ingest([ROOT / "sample_kb"], agent.services.settings.default_tenant)
        thread = None
        for question, comment in EXAMPLES:
            follows = bool(comment and comment.startswith("after"))
            result = await agent.ask(question, thread_id=thread if follows else None)
            thread = result.thread_id
            shown = f'$ support-agent ask "{question}"' + (f"   # {comment}" if comment else "")
            blocks.append(f"```\n{shown}\n{result.answer}\n```")
    return "\n\n".join(blocks)


def main() -> None:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    if not rest:
        raise SystemExit(f"README.md has no {START} marker")
    generated = asyncio.run(examples())
    readme.write_text(f"{head}{START}\n{generated}\n{END}{tail}", encoding="utf-8")
    print(generated)


if __name__ == "__main__":
    main()
