"""``support-agent forget``: erasing a customer on request (memories, conversations, tickets)."""

from __future__ import annotations

from typing import Annotated

import typer

from graph.cli.common import (
    JsonOpt,
    TenantOpt,
    console,
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
