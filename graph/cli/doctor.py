"""``support-agent doctor``: one command that says which dependency is broken, and why."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from graph.cli.common import JsonOpt, console, load_settings, print_json, run_command

__all__ = ["doctor"]


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
