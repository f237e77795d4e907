"""The ``support-agent`` command line (a contract: tests and benchmarks call it).

Human output uses Rich; ``--json`` prints exactly one JSON document on stdout.
Heavy imports happen inside the commands so ``--help`` stays instant.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markdown import Markdown
from rich.table import Table

from state import Settings, get_settings, validate_identifier

if TYPE_CHECKING:
    from tools.services import Services

T = TypeVar("T")

app = typer.Typer(
    name="support-agent",
    help="A customer-support agent that answers from your knowledge base, with citations.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
kb_app = typer.Typer(help="Manage the knowledge base.", no_args_is_help=True)
app.add_typer(kb_app, name="kb")
memory_app = typer.Typer(help="Customers' long-term memories.", no_args_is_help=True)
app.add_typer(memory_app, name="memory")
tickets_app = typer.Typer(help="Tickets of conversations handed to a human.", no_args_is_help=True)
app.add_typer(tickets_app, name="tickets")

console = Console()
err = Console(stderr=True)

TenantOpt = Annotated[str | None, typer.Option("--tenant", help="Tenant id (default: settings).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def load_settings() -> Settings:
    """The settings, or a clear configuration error and exit code 2."""
    try:
        settings = get_settings()
    except Exception as exc:
        err.print(f"[red]Invalid configuration:[/red] {exc}")
        raise typer.Exit(2) from exc
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    return settings


def _tenant(settings: Settings, tenant: str | None) -> str:
    try:
        return validate_identifier(tenant or settings.default_tenant, "tenant")
    except ValueError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc


def run_command(coro: Callable[[], Awaitable[T]]) -> T:
    """Run a command's coroutine; Ctrl-C and refused threads exit cleanly."""
    from tools.resilience.errors import ThreadAccessError

    try:
        return asyncio.run(coro())  # type: ignore[arg-type]
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    except ThreadAccessError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc


def progress_bar(hidden: bool) -> Any:
    """The progress bar long commands draw on stderr (hidden for ``--json``)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=hidden,
        transient=True,
    )


def _with_services(settings: Settings, use: Callable[[Services], Awaitable[T]]) -> T:
    """Start the services, run ``use`` with them, and always close them."""

    async def main() -> T:
        from tools.services import create_services

        services = await create_services(settings)
        try:
            return await use(services)
        finally:
            await services.aclose()

    return run_command(main)


def print_json(data: Any) -> None:
    """``--json`` output: one document on stdout."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


@kb_app.command("ingest")
def kb_ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to ingest.")],
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Ingest files and folders (Markdown, HTML, PDF, DOCX, ... and .json/.jsonl records)."""
    settings = load_settings()
    tenant_id = _tenant(settings, tenant)

    async def ingest(services: Services) -> dict[str, Any]:
        with progress_bar(as_json) as progress:
            task = progress.add_task("Embedding chunks", total=None)

            def report(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            result = await services.kb.ingest(paths, tenant_id, progress=report)
        return result.as_dict()

    summary = _with_services(settings, ingest)
    if as_json:
        print_json(summary)
    else:
        console.print(
            f"[bold]Ingested[/bold] into tenant [cyan]{tenant_id}[/cyan] "
            f"in {summary['seconds']} s: "
            f"[green]{len(summary['added'])} added[/green], {len(summary['updated'])} updated, "
            f"{summary['unchanged']} unchanged, {len(summary['removed'])} removed, "
            f"[red]{len(summary['failed'])} failed[/red] "
            f"({summary['chunks_embedded']} chunks embedded)."
        )
        for failure in summary["failed"]:
            console.print(f"  [red]✗[/red] {failure['source']}: {failure['reason']}")
    if summary["failed"] and not (summary["added"] or summary["updated"] or summary["unchanged"]):
        raise typer.Exit(1)


@kb_app.command("search")
def kb_search(
    query: Annotated[str, typer.Argument(help="What to search for.")],
    k: Annotated[int, typer.Option("--k", min=1, max=50, help="Documents to return.")] = 5,
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Search the knowledge base (dense + BM25, fused) and show the best documents."""
    settings = load_settings()
    tenant_id = _tenant(settings, tenant)

    result = _with_services(settings, lambda s: s.kb.search(query, tenant_id, k))
    rows: list[dict[str, Any]] = [
        {
            "doc_id": p["doc_id"],
            "title": p["title"],
            "source": p["source"],
            "score": p["score"],
            "text": p["text"],
        }
        for p in result.passages
    ]
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("No results (is the knowledge base empty? see `support-agent kb stats`).")
        return
    table = Table(
        title=f"top {len(rows)} for “{query}”  (best cosine {result.top_score:.2f}, "
        f"abstain below {result.threshold:.2f})"
    )
    table.add_column("#", justify="right")
    table.add_column("doc_id", style="cyan")
    table.add_column("title")
    table.add_column("score", justify="right")
    table.add_column("best passage", max_width=60)
    for n, row in enumerate(rows, start=1):
        snippet = " ".join(row["text"].split())[:180]
        table.add_row(str(n), row["doc_id"], row["title"], f"{row['score']:.4f}", snippet)
    console.print(table)


@kb_app.command("stats")
def kb_stats(tenant: TenantOpt = None, as_json: JsonOpt = False) -> None:
    """Documents, chunks and calibration of the knowledge base."""
    settings = load_settings()
    tenant_id = _tenant(settings, tenant)

    stats = _with_services(settings, lambda s: s.kb.stats(tenant_id))
    if as_json:
        print_json(stats)
        return
    table = Table(title="Knowledge base", show_header=False)
    for key, value in stats.items():
        table.add_row(key, json.dumps(value) if isinstance(value, dict) else str(value))
    console.print(table)


def _too_large(path: Path, settings: Settings) -> str | None:
    """Why a file will not be sent (it would be refused after reading it whole), if so."""
    size, limit = path.stat().st_size, settings.attachments.max_bytes
    if size <= limit:
        return None
    return f"{path.name} is {size / 1e6:.1f} MB; attachments are limited to {limit / 1e6:.1f} MB"


def _print_turn(result: Any) -> None:
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


@app.command("ask")
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
    tenant_id = _tenant(settings, tenant)
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


@app.command("chat")
def chat(
    thread: Annotated[str | None, typer.Option("--thread", help="Continue this thread.")] = None,
    user: Annotated[str | None, typer.Option("--user", help="Customer id.")] = None,
    tenant: TenantOpt = None,
) -> None:
    """Chat interactively: empty line or Ctrl-D quits, /new starts a thread, /attach FILE [text]."""
    settings = load_settings()
    tenant_id = _tenant(settings, tenant)
    user_id = validate_identifier(user, "user") if user else None

    async def main() -> None:
        import uuid

        from graph.embedded import open_agent
        from tools.resilience.errors import ThreadAccessError

        thread_id = thread or str(uuid.uuid4())
        async with open_agent(settings) as agent:
            owner = await agent.services.memory.thread_owner(thread_id)
            if owner is not None and owner != (tenant_id, user_id or settings.default_user):
                raise ThreadAccessError(f"thread {thread_id} belongs to another customer")
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


@memory_app.command("list")
def memory_list(
    user: Annotated[str, typer.Option("--user", help="Customer id.")],
    tenant: TenantOpt = None,
    archived: Annotated[bool, typer.Option("--all", help="Include archived memories.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """What the agent remembers about a customer."""
    settings = load_settings()
    tenant_id = _tenant(settings, tenant)
    user_id = validate_identifier(user, "user")

    rows = _with_services(
        settings, lambda s: s.memory.list_memories(tenant_id, user_id, include_archived=archived)
    )
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"memories of {user_id} ({tenant_id})")
    for column in ("id", "kind", "slot", "content", "last used", "archived"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["kind"],
            row["slot"] or "",
            row["content"],
            row["last_accessed_at"][:16],
            (row["archived_at"] or "")[:16],
        )
    console.print(table)


@memory_app.command("prune")
def memory_prune(as_json: JsonOpt = False) -> None:
    """Archive expired memories and delete long-archived ones (run it daily)."""
    settings = load_settings()

    counts = _with_services(settings, lambda s: s.memory.prune())
    if as_json:
        print_json(counts)
    else:
        console.print(f"archived {counts['archived']}, deleted {counts['deleted']}")


@memory_app.command("rotate-keys")
def memory_rotate_keys() -> None:
    """Re-encrypt memories and attachments with the newest SUPPORT_MEMORY_ENCRYPTION_KEY."""
    settings = load_settings()

    async def rotate(services: Services) -> tuple[int, int]:
        return await services.memory.rotate_keys(), await services.attachments.rotate_keys()

    memories, files = _with_services(settings, rotate)
    console.print(f"re-encrypted {memories} memories and {files} attachments")


@app.command("forget")
def forget(
    user: Annotated[str, typer.Option("--user", help="Customer id.")],
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Delete everything stored about a customer: memories, conversations, checkpoints."""
    settings = load_settings()
    tenant_id = _tenant(settings, tenant)
    user_id = validate_identifier(user, "user")

    async def main() -> dict[str, int]:
        from graph.embedded import open_agent

        async with open_agent(settings) as agent:
            return await agent.forget(user_id, tenant_id)

    counts = run_command(main)
    if as_json:
        print_json(counts)
    else:
        console.print(
            f"forgot {user_id}: {counts['memories']} memories, {counts['threads']} conversations, "
            f"{counts['tickets']} tickets"
        )


@app.command("resume")
def resume(
    thread: Annotated[str, typer.Argument(help="The escalated thread.")],
    reply: Annotated[str, typer.Option("--reply", help="The human agent's message.")],
    resolve: Annotated[
        bool, typer.Option("--resolve", help="Hand the thread back to the assistant.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """A human agent answers an escalated thread (and with --resolve closes the ticket)."""
    settings = load_settings()

    async def main() -> Any:
        from graph.embedded import open_agent

        async with open_agent(settings) as agent:
            return await agent.resume(thread, reply, resolve=resolve)

    result = run_command(main)
    if as_json:
        print_json(result.as_dict())
    else:
        state = "resolved: the assistant answers again" if resolve else "still with a human"
        console.print(f"reply added to thread {thread} ({state})")


@tickets_app.command("list")
def tickets_list(
    tenant: TenantOpt = None,
    status: Annotated[str | None, typer.Option("--status", help="open, assigned, resolved")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The tenant's tickets, newest first."""
    settings = load_settings()
    tenant_id = _tenant(settings, tenant)

    rows = _with_services(settings, lambda s: s.tickets.list(tenant_id, status))
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"tickets ({tenant_id})")
    for column in ("#", "status", "priority", "reasons", "user", "thread", "summary"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row["ticket_id"]),
            row["status"],
            row["priority"],
            ",".join(row["reasons"]),
            row["user_id"],
            row["thread_id"][:12],
            row["summary"].splitlines()[0][:60],
        )
    console.print(table)


@tickets_app.command("deliver")
def tickets_deliver(as_json: JsonOpt = False) -> None:
    """Post undelivered tickets to SUPPORT_ESCALATION_WEBHOOK_URL now."""
    settings = load_settings()

    counts = _with_services(settings, lambda s: s.tickets.deliver_pending())
    if as_json:
        print_json(counts)
    else:
        console.print(
            f"delivered {counts['delivered']}, failed {counts['failed']}, "
            f"pending {counts['pending']}"
        )
    if counts["failed"]:
        raise typer.Exit(1)


@app.command("doctor")
def doctor(as_json: JsonOpt = False) -> None:
    """Check every dependency: configuration, database, checkpointer, Chroma, model."""
    settings = load_settings()

    async def main() -> list[dict[str, Any]]:
        from graph.health import run_checks

        return await run_checks(settings)

    checks = run_command(main)
    ok = all(c["ok"] for c in checks)
    if as_json:
        print_json({"ok": ok, "checks": checks})
    else:
        table = Table(title="support-agent doctor")
        table.add_column("check")
        table.add_column("status")
        table.add_column("detail", max_width=80)
        for check in checks:
            status = "[green]ok[/green]" if check["ok"] else "[red]FAIL[/red]"
            table.add_row(check["name"], status, check["detail"])
        console.print(table)
    if not ok:
        raise typer.Exit(1)


if __name__ == "__main__":  # pragma: no cover
    app()
