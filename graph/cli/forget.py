"""``support-agent forget``: erasing a customer on request (memories, conversations, tickets)."""

from __future__ import annotations

from typing import Annotated

import typer

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
from state import validate_identifier

__all__ = ["forget"]


def forget(
    user: Annotated[str, typer.Option("--user", help="Customer id.")],
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Delete everything stored about a customer: memories, conversations, checkpoints."""
    settings = load_settings()
    tenant_id = resolve_tenant(settings, tenant)
    user_id = validate_identifier(user, "user")

    async def main() -> tuple[dict[str, int], list[str]]:
        from graph.embedded import open_agent
        from graph.forget import tenants_with_data

        async with open_agent(settings) as agent:
            counts = await agent.forget(user_id, tenant_id)
            elsewhere = (
                [] if any(counts.values()) else await tenants_with_data(agent.services, user_id)
            )
            return counts, elsewhere

    counts, elsewhere = run_command(main)
    if as_json:
        print_json(
            {**counts, "nothing_found": not any(counts.values()), "other_tenants": elsewhere}
        )
    else:
        console.print(
            f"forgot {user_id}: {counts['memories']} memories, {counts['threads']} conversations, "
            f"{counts['tickets']} tickets"
        )
    if not any(counts.values()):
        where = f"; they have data in tenant(s) {', '.join(elsewhere)}" if elsewhere else ""
        err.print(
            f"[yellow]warning: nothing stored about {user_id} in tenant {tenant_id}{where}"
            "[/yellow]",
            soft_wrap=True,
        )
