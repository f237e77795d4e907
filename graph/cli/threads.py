"""``support-agent threads``: conversation retention."""

from __future__ import annotations

from typing import Annotated

import typer

from graph.cli.common import JsonOpt, console, load_settings, print_json, run_command

__all__ = ["threads_app", "threads_prune"]

threads_app = typer.Typer(help="Conversations and their retention.", no_args_is_help=True)


@threads_app.command("prune")
def threads_prune(
    older_than: Annotated[
        float | None,
        typer.Option("--older-than", help="Days idle (default SUPPORT_THREAD_RETENTION_DAYS)."),
    ] = None,
    keep_latest: Annotated[
        bool, typer.Option("--keep-latest", help="Keep each customer's latest conversation.")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count, delete nothing.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Delete conversations idle for longer than the retention period (run daily)."""
    settings = load_settings()
    days = older_than if older_than is not None else settings.thread_retention_days

    async def main() -> dict[str, int]:
        from graph.embedded import open_agent
        from graph.retention import prune_threads

        async with open_agent(settings) as agent:
            return await prune_threads(
                agent.services,
                agent.checkpointer,
                older_than_days=days,
                keep_latest=keep_latest,
                dry_run=dry_run,
            )

    counts = run_command(main)
    if as_json:
        print_json(counts)
        return
    verb = "would prune" if dry_run else "pruned"
    console.print(
        f"{verb} {counts['pruned']} of {counts['threads']} conversations idle over {days:g} days "
        f"({counts['attachments']} files); kept {counts['kept_with_a_human']} with a human, "
        f"{counts['kept_latest']} latest"
        + (f"; {counts['server_threads']} on the server" if "server_threads" in counts else "")
    )
