"""Time to the first streamed answer text, and the largest checkpoint after a 5 MB PDF.

Run from the project root::

    .venv/bin/python bench/streaming.py

Embedded, on the sample KB: the real ``ChatOpenAI`` client against the local
OpenAI-compatible test server (``tests/fake_openai.py``), which streams its answer
word by word with 30 ms between words. Three turns are streamed with
``stream_mode="messages"``; the time to the first text of the ``answer`` node and the
whole turn are printed. Then, LLM-free, a customer sends a 5 MB PDF (one page of text
and 5 MB of binary stream) as agent-chat-ui's file block, and the largest checkpoint
of the thread (its values as JSON) is printed. Writes ``bench/results/streaming.json``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import sample_kb_data_dir  # noqa: E402
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage  # noqa: E402

from graph.embedded import open_agent  # noqa: E402
from state import Settings  # noqa: E402
from tests.fake_openai import FakeOpenAI, model_settings  # noqa: E402


def big_pdf(size: int) -> bytes:
    """A valid one-page PDF with a line of text and ``size`` bytes of binary stream."""
    text = b"BT /F1 12 Tf 72 720 Td (Invoice total due: $145.37) Tj ET"
    payload = os.urandom(size)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream",
        b"<< /Length %d >>\nstream\n" % len(payload) + payload + b"\nendstream",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer << /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return out


async def main(data: Path) -> None:
    fake = FakeOpenAI()
    fake.token_delay_s = 0.03
    results: dict[str, object] = {"turns": []}
    async with open_agent(model_settings(data, fake)) as agent:
        for number in range(3):
            config = {"configurable": {"thread_id": f"stream-{number}"}}
            question = {"messages": [HumanMessage("How long do refunds take to reach PayPal?")]}
            started, first = time.perf_counter(), None
            async for chunk, meta in agent.graph.astream(
                question, config, stream_mode="messages", context={"user_id": "bench"}
            ):
                is_text = isinstance(chunk, AIMessage | AIMessageChunk) and chunk.content
                if first is None and meta.get("langgraph_node") == "answer" and is_text:
                    first = time.perf_counter() - started
            total = time.perf_counter() - started
            results["turns"].append({"first_text_s": first, "turn_s": total})  # type: ignore[attr-defined]
            print(f"turn {number}: first answer text {first:.2f} s, whole turn {total:.2f} s")
    fake.close()
    async with open_agent(Settings(_env_file=None, data_dir=data)) as agent:
        block = {
            "type": "file",
            "mimeType": "application/pdf",
            "data": base64.b64encode(big_pdf(5_000_000)).decode(),
            "metadata": {"filename": "big.pdf"},
        }
        turn = await agent.ask(
            [{"type": "text", "text": "What is the total on this invoice?"}, block],
            user_id="bench",
        )
        config = {"configurable": {"thread_id": turn.thread_id}}
        sizes = [
            len(json.dumps(c.values, default=str))
            async for c in agent.graph.aget_state_history(config)
        ]
        results["pdf_5mb"] = {"checkpoints": len(sizes), "largest_bytes": max(sizes)}
        print(f"5 MB PDF ({turn.outcome}): {len(sizes)} checkpoints, largest {max(sizes):,} bytes")
    out = ROOT / "bench" / "results" / "streaming.json"
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    asyncio.run(main(sample_kb_data_dir()))
