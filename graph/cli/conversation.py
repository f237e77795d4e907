"""``support-agent ask``, ``chat`` and ``resume``: the conversation, as customer or human."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markdown import Markdown

from graph.cli.common import (
    JsonOpt,
    TenantOpt,
    console,
    err,
    load_settings,
    print_json,
    resolve_tenant,
    run_command,
)
from state import Settings, validate_identifier

__all__ = ["ask", "chat", "resume"]


def _too_large(path: Path, settings: Settings) -> str | None:
    """Why a file will not be sent (it would be refused after reading it whole), if so."""
    size, limit = path.stat().st_size, settings.attachments.max_bytes
    if size <= limit:
        return None
    return f"{path.name} is {size / 1e6:.1f} MB; attachments are limited to {limit / 1e6:.1f} MB"


def _print_turn(result: Any) -> None:
    """One turn for a person: attachments' status, the answer, then outcome and timing."""
    style = {"answered": "green", "abstained": "yellow", "escalated": "magenta"}[result.outcome]
    for item in result.attachments:
        status = item["status"] if item["status"] != "rejected" else f"refused: {item['error']}"
        console.print(f"[dim]attachment {item['doc_id']} {item['filename']}: {status}[/dim]")
    console.print(Markdown(result.answer))
    console.print(
        f"[{style}]{result.outcome}[/{style}]  confidence {result.confidence:.2f}  "
        f"{result.latency_ms:.0f} ms  thread {result.thread_id}"
        + (f"  [red]degraded: {result.degraded}[/red]" if result.degraded else ""),
        style="dim",
    )


def ask(
    message: Annotated[str, typer.Argument(help="The customer's message.")],
    thread: Annotated[str | None, typer.Option("--thread", help="Continue this thread.")] = None,
    user: Annotated[str | None, typer.Option("--user", help="Customer id.")] = None,
    tenant: TenantOpt = None,
    attach: Annotated[
        list[Path] | None,
        typer.Option(
            "--attach",
            help="A file to send with the message (repeatable).",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Ask one question; the answer cites the help centre (or your file), or says it can't."""
    settings = load_settings()
    tenant_id = resolve_tenant(settings, tenant)
    user_id = validate_identifier(user, "user") if user else None
    for path in attach or []:
        problem = _too_large(path, settings)
        if problem:
            err.print(f"[red]{problem}[/red]")
            raise typer.Exit(2)

    async def main() -> Any:
        from graph.embedded import open_agent

        async with open_agent(settings) as agent:
            return await agent.ask(
                message,
                thread_id=thread,
                user_id=user_id,
                tenant_id=tenant_id,
                attachments=attach or (),
            )

    result = run_command(main)
    if as_json:
        print_json(result.as_dict())
    else:
        _print_turn(result)


def chat(
    thread: Annotated[str | None, typer.Option("--thread", help="Continue this thread.")] = None,
    user: Annotated[str | None, typer.Option("--user", help="Customer id.")] = None,
    tenant: TenantOpt = None,
) -> None:
    """Chat interactively: empty line or Ctrl-D quits, /new starts a thread, /attach FILE [text]."""
    settings = load_settings()
    tenant_id = resolve_tenant(settings, tenant)
    user_id = validate_identifier(user, "user") if user else None

    async def main() -> None:
        import uuid

        from graph.embedded import open_agent

        thread_id = thread or str(uuid.uuid4())
        async with open_agent(settings) as agent:
            await agent.services.owners.check(
                tenant_id, user_id or settings.default_user, thread_id
            )
            console.print(
                f"[dim]thread {thread_id} — empty line to quit, /new for a new thread[/dim]"
            )
            for role, text in await agent.history(thread_id):
                console.print(f"[dim]{role}:[/dim] {text}")
            while True:
                try:
                    line = await asyncio.to_thread(console.input, "[bold cyan]you>[/bold cyan] ")
                except EOFError:
                    break
                if not line.strip():
                    break
                if line.strip() == "/new":
                    thread_id = str(uuid.uuid4())
                    console.print(f"[dim]new thread {thread_id}[/dim]")
                    continue
                files: list[Path] = []
                if line.startswith("/attach "):
                    _, _, rest = line.partition(" ")
                    name, _, line = rest.strip().partition(" ")
                    files = [await asyncio.to_thread(Path(name).expanduser)]
                    if not await asyncio.to_thread(files[0].is_file):
                        console.print(f"[red]no such file: {name}[/red]")
                        continue
                    problem = await asyncio.to_thread(_too_large, files[0], settings)
                    if problem:
                        console.print(f"[red]{problem}[/red]")
                        continue
                result = await agent.ask(
                    line.strip(),
                    thread_id=thread_id,
                    user_id=user_id,
                    tenant_id=tenant_id,
                    attachments=files,
                )
                _print_turn(result)

    run_command(main)


def resume(
    thread: Annotated[str, typer.Argument(help="The escalated thread.")],
    reply: Annotated[str, typer.Option("--reply", help="The human agent's message.")],
    resolve: Annotated[
        bool, typer.Option("--resolve", help="Hand the thread back to the assistant.")
    ] = False,
    name: Annotated[
        str | None, typer.Option("--name", help="Your name, shown to the customer.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """A human agent answers an escalated thread (and with --resolve closes the ticket)."""
    settings = load_settings()

    async def main() -> Any:
        from graph.embedded import open_agent

        async with open_agent(settings) as agent:
            return await agent.resume(thread, reply, resolve=resolve, name=name)

    result = run_command(main)
    if as_json:
        print_json(result.as_dict())
    else:
        state = "resolved: the assistant answers again" if resolve else "still with a human"
        console.print(f"reply added to thread {thread} ({state})")
