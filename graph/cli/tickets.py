"""``support-agent tickets``: the conversations handed to a human, and their delivery."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from graph.cli.common import (
    JsonOpt,
    TenantOpt,
    console,
    load_settings,
    print_json,
    resolve_tenant,
    with_services,
)

__all__ = ["tickets_app", "tickets_deliver", "tickets_list"]

tickets_app = typer.Typer(help="Tickets of conversations handed to a human.", no_args_is_help=True)


@tickets_app.command("list")
def tickets_list(
    tenant: TenantOpt = None,
    status: Annotated[str | None, typer.Option("--status", help="open, assigned, resolved")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The tenant's tickets, newest first."""
    settings = load_settings()
    tenant_id = resolve_tenant(settings, tenant)

    rows = with_services(settings, lambda s: s.tickets.list(tenant_id, status))
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

    counts = with_services(settings, lambda s: s.tickets.deliver_pending())
    if as_json:
        print_json(counts)
    else:
        console.print(
            f"delivered {counts['delivered']}, failed {counts['failed']}, "
            f"pending {counts['pending']}"
        )
    if counts["failed"]:
        raise typer.Exit(1)
