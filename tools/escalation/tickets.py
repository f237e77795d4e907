"""Tickets: created exactly once per escalating turn, delivered at least once.

The ticket and its outbox row are written in one transaction, keyed by an
idempotency key derived from the thread and the escalating message, so a retried
or resumed node finds the existing ticket instead of creating another. Delivery
posts the outbox payload to the helpdesk webhook as JSON signed with
HMAC-SHA256 (``X-Support-Signature: sha256=<hex>``), behind the resilience layer;
failures stay in the outbox and are retried later. Receivers deduplicate by
``ticket_id``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from state import OutboxMessage, Settings, Ticket
from tools.resilience.layer import Resilience

__all__ = ["TicketStore", "idempotency_key", "sign"]


def idempotency_key(thread_id: str, message_id: str) -> str:
    """The key of the ticket for one escalating message of one thread."""
    return hashlib.sha256(f"{thread_id}\x00{message_id}".encode()).hexdigest()


def sign(body: bytes, secret: str) -> str:
    """The ``X-Support-Signature`` header value for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _as_dict(ticket: Ticket) -> dict[str, Any]:
    return {
        "ticket_id": ticket.id,
        "tenant_id": ticket.tenant_id,
        "user_id": ticket.user_id,
        "thread_id": ticket.thread_id,
        "reasons": list(ticket.reasons),
        "priority": ticket.priority,
        "status": ticket.status,
        "summary": ticket.summary,
        "transcript": ticket.transcript,
        "created_at": ticket.created_at.isoformat() if ticket.created_at else None,
    }


class TicketStore:
    """Tickets and their delivery, in the application database."""

    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        resilience: Resilience,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.resilience = resilience

    async def create(
        self,
        *,
        tenant_id: str,
        user_id: str,
        thread_id: str,
        key: str,
        reasons: list[str],
        priority: str,
        summary: str,
        transcript: str,
    ) -> tuple[dict[str, Any], bool]:
        """The ticket for ``key``: created now with its outbox row, or the existing one.

        Returns (ticket, created).
        """
        existing = await self._by_key(key)
        if existing is not None:
            return existing, False
        try:
            async with self.sessions() as session, session.begin():
                ticket = Ticket(
                    tenant_id=tenant_id,
                    user_id=user_id,
                    thread_id=thread_id,
                    idempotency_key=key,
                    reasons=reasons,
                    priority=priority,
                    status="open",
                    summary=summary,
                    transcript=transcript,
                )
                session.add(ticket)
                await session.flush()
                payload = _as_dict(ticket)
                session.add(OutboxMessage(ticket_id=ticket.id, payload=payload, attempts=0))
        except IntegrityError:  # a concurrent run created it first
            found = await self._by_key(key)
            if found is None:
                raise
            return found, False
        return payload, True

    async def recent(self, tenant_id: str, user_id: str, hours: float = 1.0) -> list[int]:
        """Ids of the tickets the customer opened in the last ``hours``, newest first."""
        since = datetime.now(UTC) - timedelta(hours=hours)
        query = (
            select(Ticket.id)
            .where(Ticket.tenant_id == tenant_id, Ticket.user_id == user_id)
            .where(Ticket.created_at >= since)
            .order_by(Ticket.id.desc())
        )
        async with self.sessions() as session:
            return list((await session.scalars(query)).all())

    async def threads_with_open_tickets(self) -> set[str]:
        """Threads a human still has (open or assigned tickets): retention keeps them."""
        query = select(Ticket.thread_id).where(Ticket.status.in_(("open", "assigned")))
        async with self.sessions() as session:
            return set((await session.scalars(query)).all())

    async def exists(self, key: str) -> bool:
        """Whether the ticket for ``key`` was already created."""
        return await self._by_key(key) is not None

    async def _by_key(self, key: str) -> dict[str, Any] | None:
        async with self.sessions() as session:
            ticket = await session.scalar(select(Ticket).where(Ticket.idempotency_key == key))
            return _as_dict(ticket) if ticket else None

    async def set_status(self, tenant_id: str, ticket_id: int, status: str) -> None:
        """Move a tenant's ticket to ``assigned`` or ``resolved``."""
        async with self.sessions() as session, session.begin():
            ticket = await session.get(Ticket, ticket_id)
            if ticket is not None and ticket.tenant_id == tenant_id:
                ticket.status = status
                ticket.updated_at = datetime.now(UTC)

    async def list(self, tenant_id: str, status: str | None = None) -> list[dict[str, Any]]:
        """The tenant's tickets, newest first."""
        query = select(Ticket).where(Ticket.tenant_id == tenant_id)
        if status:
            query = query.where(Ticket.status == status)
        async with self.sessions() as session:
            rows = (await session.scalars(query.order_by(Ticket.id.desc()))).all()
        return [_as_dict(t) for t in rows]

    async def pending(self) -> int:
        """Outbox rows not delivered yet."""
        async with self.sessions() as session:
            rows = await session.scalars(
                select(OutboxMessage.id).where(OutboxMessage.delivered_at.is_(None))
            )
            return len(rows.all())

    async def deliver_pending(self, limit: int = 50) -> dict[str, int]:
        """Post undelivered tickets to the webhook; failures stay for the next attempt."""
        url = self.settings.escalation_webhook_url
        if not url:
            return {"delivered": 0, "failed": 0, "pending": await self.pending()}
        async with self.sessions() as session:
            rows = (
                await session.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.delivered_at.is_(None))
                    .order_by(OutboxMessage.id)
                    .limit(limit)
                )
            ).all()
        delivered = failed = 0
        for row in rows:
            payload: dict[str, Any] = dict(row.payload)

            async def post(payload: dict[str, Any] = payload) -> int:
                return await self._post(url, payload)

            result = await self.resilience.run("webhook", post)
            async with self.sessions() as session, session.begin():
                stored = await session.get(OutboxMessage, row.id)
                if stored is None:
                    continue
                stored.attempts += 1
                if result.ok:
                    stored.delivered_at = datetime.now(UTC)
                    delivered += 1
                else:
                    stored.last_error = f"{result.error_kind}: {result.message}"[:500]
                    failed += 1
            if not result.ok and result.error_kind == "circuit_open":
                break  # the helpdesk is down: leave the rest for later
        return {"delivered": delivered, "failed": failed, "pending": await self.pending()}

    async def _post(self, url: str, payload: dict[str, Any]) -> int:
        import httpx

        body = json.dumps(payload, sort_keys=True).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Support-Ticket": str(payload["ticket_id"]),
        }
        if self.settings.escalation_webhook_secret is not None:
            headers["X-Support-Signature"] = sign(
                body, self.settings.escalation_webhook_secret.get_secret_value()
            )
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.post(url, content=body, headers=headers)
            response.raise_for_status()
        return response.status_code

    async def forget_user(self, tenant_id: str, user_id: str) -> int:
        """Delete the user's tickets and their outbox rows; returns tickets deleted."""
        async with self.sessions() as session, session.begin():
            ids = (
                await session.scalars(
                    select(Ticket.id).where(
                        Ticket.tenant_id == tenant_id, Ticket.user_id == user_id
                    )
                )
            ).all()
            if ids:
                await session.execute(delete(OutboxMessage).where(OutboxMessage.ticket_id.in_(ids)))
                await session.execute(delete(Ticket).where(Ticket.id.in_(ids)))
        return len(ids)
