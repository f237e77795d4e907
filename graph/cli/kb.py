"""``support-agent kb``: filling and inspecting the knowledge base the answers cite."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from graph.cli.common import (
    JsonOpt,
    TenantOpt,
    console,
    load_settings,
    print_json,
    progress_bar,
    resolve_tenant,
    with_services,
)

if TYPE_CHECKING:
    from tools.services import Services

__all__ = ["kb_app", "kb_ingest", "kb_search", "kb_stats"]

kb_app = typer.Typer(help="Manage the knowledge base.", no_args_is_help=True)


@kb_app.command("ingest")
def kb_ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to ingest.")],
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Ingest files and folders (Markdown, HTML, PDF, DOCX, ... and .json/.jsonl records)."""
    settings = load_settings()
    tenant_id = resolve_tenant(settings, tenant)

    async def ingest(services: Services) -> dict[str, Any]:
        with progress_bar(as_json) as progress:
            task = progress.add_task("Embedding chunks", total=None)

            def report(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            result = await services.kb.ingest(paths, tenant_id, progress=report)
        return result.as_dict()

    summary = with_services(settings, ingest)
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
    tenant_id = resolve_tenant(settings, tenant)

    result = with_services(settings, lambda s: s.kb.search(query, tenant_id, k))
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
    tenant_id = resolve_tenant(settings, tenant)

    stats = with_services(settings, lambda s: s.kb.stats(tenant_id))
    if as_json:
        print_json(stats)
        return
    table = Table(title="Knowledge base", show_header=False)
    for key, value in stats.items():
        table.add_row(key, json.dumps(value) if isinstance(value, dict) else str(value))
    console.print(table)
