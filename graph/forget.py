"""Forget a customer: memories, tickets, attachments, thread ownership rows and checkpoints.

With ``SUPPORT_SERVER_URL`` set, their threads on the LangGraph server go too, first:
if the server cannot delete them, nothing else is deleted and the call can be
repeated (no thread is left without its owner for another caller to claim). The
deletion is recorded
(tenant, counts, time and, when a memory key is set, a keyed hash of the user id so a
later audit can confirm a request), never what was deleted.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from sqlalchemy import select

from graph.server_threads import delete_server_threads
from state import ForgetRecord
from state.db import Attachment, Memory, ThreadOwner, Ticket
from tools.services import Services

__all__ = ["forget_user", "tenants_with_data"]


def _user_hash(services: Services, user_id: str) -> str:
    """A keyed hash (so it cannot be reversed by guessing ids), or "" without a key."""
    keys = services.memory.crypto.keys
    if not keys:
        return ""
    return hmac.new(keys[-1].encode(), user_id.encode(), hashlib.sha256).hexdigest()


async def forget_user(
    services: Services, checkpointer: BaseCheckpointSaver[Any], tenant_id: str, user_id: str
) -> dict[str, int]:
    """Delete everything stored about ``user_id`` in ``tenant_id``; return what was removed.

    Each store deletes its own rows; ownership goes last, after the checkpoints, so a
    failure part-way leaves the threads still owned (and the call can be repeated).
    """
    threads = await services.owners.threads_of(tenant_id, user_id)
    server_threads = 0
    if services.settings.server_url:
        server_threads = await delete_server_threads(services.settings, tenant_id, user_id, threads)
    tickets = await services.tickets.forget_user(tenant_id, user_id)
    attachments = await services.attachments.forget_user(tenant_id, user_id)
    memories = await services.memory.forget_user(tenant_id, user_id)
    for thread_id in threads:
        await checkpointer.adelete_thread(thread_id)
    await services.owners.release_user(tenant_id, user_id)
    counts = {
        "memories": memories,
        "threads": len(threads),
        **({"server_threads": server_threads} if services.settings.server_url else {}),
        "tickets": tickets,
        "attachments": attachments,
    }
    async with services.sessions() as session, session.begin():
        session.add(
            ForgetRecord(
                tenant_id=tenant_id, user_hash=_user_hash(services, user_id), counts=counts
            )
        )
    return counts


async def tenants_with_data(services: Services, user_id: str) -> list[str]:
    """The tenants holding anything about ``user_id``.

    For an operator whose forget found nothing: the customer may be under another tenant.
    """
    found: set[str] = set()
    async with services.sessions() as session:
        for model in (Memory, ThreadOwner, Ticket, Attachment):
            rows = await session.scalars(
                select(model.tenant_id).where(model.user_id == user_id).distinct()
            )
            found.update(rows.all())
    return sorted(found)
