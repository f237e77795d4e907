"""Retention: conversations older than a limit are deleted, with what belongs to them.

Checkpoint tables that grow forever are among the most reported problems of LangGraph
deployments. ``prune_threads`` deletes each thread idle for longer than the limit: its
checkpoints (the saver's own ``adelete_thread``, embedded or Postgres), the files sent
in it and its ownership row, and with ``SUPPORT_SERVER_URL`` the thread on the LangGraph
server; then a thread whose activity the checkpointer here does not show (not the
server's database) or whose tenant the admin token does not cover is kept, because
deleting it there could delete a live conversation. A thread a human still has (an
open or assigned ticket) is kept, and so, with ``keep_latest``, is each customer's most
recent conversation.
Memories and tickets are not conversations: they have their own retention
(``memory prune``) and belong to the helpdesk.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver

from graph.server_threads import can_delete_for, delete_server_threads
from tools.services import Services

__all__ = ["prune_threads"]


async def _last_activity(checkpointer: BaseCheckpointSaver[Any], thread_id: str) -> datetime | None:
    """When the thread's latest checkpoint was written (None: it has none)."""
    config = {"configurable": {"thread_id": thread_id}}
    async for item in checkpointer.alist(config, limit=1):  # type: ignore[arg-type]
        return datetime.fromisoformat(item.checkpoint["ts"]).astimezone(UTC)
    return None


async def prune_threads(
    services: Services,
    checkpointer: BaseCheckpointSaver[Any],
    *,
    older_than_days: float,
    keep_latest: bool = False,
    dry_run: bool = False,
) -> dict[str, int]:
    """Delete the threads idle for more than ``older_than_days``; return the counts."""
    cutoff = datetime.now(UTC) - timedelta(days=older_than_days)
    with_a_human = await services.tickets.threads_with_open_tickets()
    owned = await services.owners.all_threads()
    on_server = services.settings.server_url is not None
    last: dict[str, datetime] = {}
    unknown: set[str] = set()  # on a server: no checkpoint here, so no idea how idle
    for thread_id, tenant, _, created in owned:
        seen = await _last_activity(checkpointer, thread_id)
        if seen is None and on_server:
            unknown.add(thread_id)
        elif on_server and not can_delete_for(services.settings, tenant):
            unknown.add(thread_id)  # the server's copy could not be deleted: keep both
        last[thread_id] = seen or created.replace(tzinfo=created.tzinfo or UTC)
    latest_of: dict[tuple[str, str], str] = {}
    by_customer: defaultdict[tuple[str, str], list[str]] = defaultdict(list)
    for thread_id, tenant, user, _ in owned:
        by_customer[(tenant, user)].append(thread_id)
    for customer, threads in by_customer.items():
        latest_of[customer] = max(threads, key=lambda t: last[t])
    old = [t for t, _, _, _ in owned if last[t] < cutoff]
    kept_human = [t for t in old if t in with_a_human]
    kept_latest = [
        t
        for t, tenant, user, _ in owned
        if keep_latest and t in old and t not in with_a_human and latest_of[(tenant, user)] == t
    ]
    kept_unknown = [t for t in old if t in unknown and t not in with_a_human]
    doomed = [t for t in old if t not in with_a_human and t not in kept_latest and t not in unknown]
    files = server_threads = 0
    if not dry_run:
        # The server first: if it cannot be reached, nothing is deleted and a retry redoes it.
        server_threads = await _delete_on_server(services, owned, doomed)
        files = await services.attachments.forget_threads(doomed)
        for thread_id in doomed:
            await checkpointer.adelete_thread(thread_id)
        await services.owners.release_threads(doomed)  # last: a failure leaves them owned
    return {
        "threads": len(owned),
        "pruned": len(doomed),
        "attachments": files,
        "kept_with_a_human": len(kept_human),
        "kept_latest": len(kept_latest),
        "dry_run": int(dry_run),
        **(
            {"server_threads": server_threads, "kept_unknown_activity": len(kept_unknown)}
            if on_server
            else {}
        ),
    }


async def _delete_on_server(
    services: Services, owned: list[tuple[str, str, str, Any]], doomed: list[str]
) -> int:
    """Delete the pruned threads on the LangGraph server too (``SUPPORT_SERVER_URL``).

    Aegra 0.6 has no thread TTL, and its thread records would stay listed, empty.
    """
    if not services.settings.server_url or not doomed:
        return 0
    wanted = set(doomed)
    by_owner: defaultdict[tuple[str, str], list[str]] = defaultdict(list)
    for thread_id, tenant, user, _ in owned:
        if thread_id in wanted:
            by_owner[(tenant, user)].append(thread_id)
    deleted = 0
    for (tenant, user), threads in by_owner.items():
        deleted += await delete_server_threads(
            services.settings, tenant, user, threads, all_of_theirs=False
        )
    return deleted
