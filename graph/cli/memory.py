"""``support-agent memory``: what the agent remembers about customers, and its upkeep."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

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
from state import validate_identifier

if TYPE_CHECKING:
    from tools.services import Services

__all__ = ["memory_app", "memory_list", "memory_prune", "memory_rotate_keys"]

memory_app = typer.Typer(help="Customers' long-term memories.", no_args_is_help=True)


@memory_app.command("list")
def memory_list(
    user: Annotated[str, typer.Option("--user", help="Customer id.")],
    tenant: TenantOpt = None,
    archived: Annotated[bool, typer.Option("--all", help="Include archived memories.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """What the agent remembers about a customer."""
    settings = load_settings()
    tenant_id = resolve_tenant(settings, tenant)
    user_id = validate_identifier(user, "user")

    rows = with_services(
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

    counts = with_services(settings, lambda s: s.memory.prune())
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

    memories, files = with_services(settings, rotate)
    console.print(f"re-encrypted {memories} memories and {files} attachments")
