"""`make demo`: ingest the sample help centre and hold a short scripted conversation.

Runs on the embedded defaults (data under ./.support-agent/, SQLite, the packaged
embedding model, LLM-free mode unless SUPPORT_LLM_MODEL is set).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from rich.console import Console
from rich.markdown import Markdown
from rich.panel import Panel

from graph.embedded import open_agent

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = [
    "I bought a Lumora Bulb two weeks ago and don't want it any more. Can I return it for a refund?",
    "How long does it take to reach my credit card?",
    "I'm on the Pro plan and my Lumora Cam shows offline in the app. What should I try?",
    "Can you recommend a good recipe for pasta carbonara?",
]
NEW_THREAD = "How long is my clip history kept?"
ESCALATE = "There are charges on my card that I didn't make. I need a person, please."
INVOICE = ROOT / "evaluations" / "datasets" / "files" / "invoice-LM-20931.pdf"
ABOUT_INVOICE = "What is the total I was charged on this invoice?"


async def main() -> int:
    console = Console()
    async with open_agent() as agent:
        console.rule("Ingesting the sample knowledge base (sample_kb/)")
        report = await agent.services.kb.ingest([ROOT / "sample_kb"], "default")
        summary = report.as_dict()
        console.print(
            f"{len(summary['added'])} added, {len(summary['updated'])} updated, "
            f"{summary['unchanged']} unchanged, {len(summary['removed'])} removed, "
            f"{len(summary['failed'])} failed, in {summary['seconds']} s"
        )
        thread_id = None
        for message in SCRIPT:
            console.rule()
            console.print(Panel(message, title="customer", border_style="cyan"))
            result = await agent.ask(message, thread_id=thread_id, user_id="demo-user")
            thread_id = result.thread_id
            colour = "green" if result.outcome == "answered" else "yellow"
            console.print(
                Panel(
                    Markdown(result.answer), title=f"agent · {result.outcome}", border_style=colour
                )
            )
            cited = ", ".join(c["doc_id"] for c in result.citations) or "none"
            console.print(f"[dim]citations: {cited} · {result.latency_ms:.0f} ms[/dim]")
        console.rule("A file the customer attaches (checked, converted in isolation, cited)")
        console.print(
            Panel(f"{ABOUT_INVOICE}\n📎 {INVOICE.name}", title="customer", border_style="cyan")
        )
        read = await agent.ask(
            ABOUT_INVOICE, thread_id=thread_id, user_id="demo-user", attachments=[INVOICE]
        )
        console.print(
            Panel(Markdown(read.answer), title=f"agent · {read.outcome}", border_style="green")
        )
        cited = ", ".join(c["doc_id"] for c in read.citations) or "none"
        console.print(f"[dim]citations: {cited} · {read.latency_ms:.0f} ms[/dim]")
        console.rule("A new conversation: the agent remembers this customer")
        console.print(Panel(NEW_THREAD, title="customer (new thread)", border_style="cyan"))
        later = await agent.ask(NEW_THREAD, user_id="demo-user")
        console.print(
            Panel(Markdown(later.answer), title=f"agent · {later.outcome}", border_style="green")
        )
        console.print(f"[dim]memories used: {'; '.join(later.memories_used) or 'none'}[/dim]")
        console.rule("Knowing when to hand over")
        console.print(Panel(ESCALATE, title="customer", border_style="cyan"))
        handed = await agent.ask(ESCALATE, thread_id=later.thread_id, user_id="demo-user")
        console.print(
            Panel(
                Markdown(handed.answer), title=f"agent · {handed.outcome}", border_style="magenta"
            )
        )
        console.print(f"[dim]escalation: {handed.escalation}[/dim]")
        escalated_thread = handed.thread_id
    console.rule()
    console.print(
        "Chat with it yourself:  [bold].venv/bin/support-agent chat[/bold]\n"
        f"Continue this thread:   [bold].venv/bin/support-agent chat --user demo-user --thread "
        f"{thread_id}[/bold]\n"
        'One question as JSON:   [bold].venv/bin/support-agent ask "How do I reset my password?" '
        "--json[/bold]\n"
        "What it remembers:      [bold].venv/bin/support-agent memory list --user demo-user[/bold]\n"
        "Answer as the human:    [bold].venv/bin/support-agent resume "
        f'{escalated_thread} --reply "Hi, I\'m Sam." --resolve[/bold]\n'
        "The tickets:            [bold].venv/bin/support-agent tickets list[/bold]"
    )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
