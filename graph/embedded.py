"""The embedded runner: the graph compiled with a checkpointer, one call per turn.

``SupportAgent`` is what the command line, the evaluations and the tests use.
It owns the services and the checkpointer for its lifetime and returns each
turn as a ``TurnResult``, the documented ``ask --json`` object.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import logging
import mimetypes
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.types import Command

from graph.builder import build_graph
from graph.failed_turn import IMPORTED, removal_of_failed_turn
from graph.forget import forget_user
from graph.handover import parse_resume
from graph.message_checks import message_content
from graph.nodes.handoff import human_message
from state import CheckpointerKind, Citation, Context, Outcome, Settings, open_checkpointer
from tools.resilience.errors import StoreUnavailableError, ThreadAccessError, store_fault
from tools.services import LazyServices, Services, create_services
from tools.telemetry import record_turn, turn_span

logger = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

__all__ = ["SupportAgent", "TurnResult", "file_block", "open_agent"]


def file_block(path: Path) -> dict[str, Any]:
    """A file as a LangChain base64 file content block (blocking: reads the file)."""
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return {
        "type": "file",
        "base64": base64.b64encode(path.read_bytes()).decode("ascii"),
        "mime_type": mime,
        "filename": path.name,
    }


@dataclass
class TurnResult:
    """The result of one turn (the ``ask --json`` contract)."""

    thread_id: str
    outcome: Outcome
    answer: str
    citations: list[Citation]
    escalation: dict[str, Any] | None = None
    memories_used: list[str] = field(default_factory=list)
    latency_ms: float = 0.0
    confidence: float = 0.0
    route_reasons: list[str] = field(default_factory=list)
    degraded: str | None = None
    retrieved: list[str] = field(default_factory=list)
    """Doc ids this turn retrieved, best first (what evaluations score retrieval on)."""
    attachments: list[dict[str, Any]] = field(default_factory=list)
    """Files sent with this turn's message and what became of each."""
    query: str = ""
    """The search query the turn formed from the conversation (what rewriting is scored on)."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def _retrieved(state: dict[str, Any]) -> list[str]:
    """Doc ids the turn retrieved, best first, then files the model read with its tool.

    Staff-only articles the search found (never shown to the customer) keep their rank:
    retrieval is scored on what the search found, not on what the customer may see.
    """
    ids = [p["doc_id"] for p in state.get("passages") or []]
    for article in sorted(state.get("internal_articles") or [], key=lambda a: a.get("rank", 0)):
        ids.insert(min(int(article.get("rank", len(ids))), len(ids)), article["doc_id"])
    return ids + [c["doc_id"] for c in state.get("citations") or [] if c["doc_id"] not in ids]


def _store_faults_as_errors(method: F) -> F:
    """A database that cannot be reached becomes ``StoreUnavailableError``, not a traceback."""

    @functools.wraps(method)
    async def translated(*args: Any, **kwargs: Any) -> Any:
        try:
            return await method(*args, **kwargs)
        except Exception as exc:
            if store_fault(exc):
                logger.warning("conversation store unavailable: %s", type(exc).__name__)
                raise StoreUnavailableError() from exc
            raise

    return translated  # type: ignore[return-value]


class SupportAgent:
    """Runs conversation turns on the compiled graph."""

    def __init__(self, services: Services, compiled: Any, checkpointer: Any) -> None:
        self.services = services
        self.graph = compiled
        self.checkpointer = checkpointer

    @_store_faults_as_errors
    async def ask(
        self,
        message: str | list[Any],
        *,
        thread_id: str | None = None,
        user_id: str | None = None,
        tenant_id: str | None = None,
        attachments: Sequence[str | Path] = (),
    ) -> TurnResult:
        """Send one customer message (with files to attach) and return the turn's result.

        Files travel as base64 content blocks, exactly as the LangGraph server API
        receives them. Raises ``ThreadAccessError`` when ``thread_id`` belongs to another
        customer, and ``OSError`` when a file cannot be read.
        """
        settings = self.services.settings
        context = Context(
            tenant_id=tenant_id or settings.default_tenant,
            user_id=user_id or settings.default_user,
        )
        if thread_id is not None:
            await self.services.owners.check(context.tenant_id, context.user_id, thread_id)
        thread_id = thread_id or str(uuid.uuid4())
        config = {"configurable": {"thread_id": thread_id}}
        started = time.perf_counter()
        content = message_content(message)
        if attachments:
            blocks = await asyncio.to_thread(lambda: [file_block(Path(p)) for p in attachments])
            text = [{"type": "text", "text": content}] if isinstance(content, str) else content
            content = [*text, *blocks] if content else blocks
        asked = HumanMessage(content, id=str(uuid.uuid4()))
        with turn_span(context.tenant_id, thread_id) as span:
            try:
                state = await self.graph.ainvoke(
                    {"messages": [asked]},
                    config=config,
                    context=context,
                    durability=settings.checkpoint_durability,
                )
            except Exception as exc:  # cancelled turns are repaired by the next turn's guard
                if not store_fault(exc):  # the store is down: the next turn's guard repairs
                    await self._drop_failed_turn(config, asked.id)
                raise
            result = self._result(thread_id, state, (time.perf_counter() - started) * 1000)
            span.set_attribute("support.outcome", result.outcome)
            if result.degraded:
                span.set_attribute("support.degraded", result.degraded)
        record_turn(context.tenant_id, result.outcome, result.degraded, result.latency_ms)
        return result

    @_store_faults_as_errors
    async def import_history(
        self,
        thread_id: str,
        messages: Sequence[tuple[Literal["user", "assistant"], str]],
        *,
        user_id: str | None = None,
        tenant_id: str | None = None,
    ) -> None:
        """Record a conversation held elsewhere (another channel) as the thread's history.

        Nothing runs: the messages are written as if the graph had just ended a turn with
        them, so the next ``ask`` on the thread is a normal turn that reads them (follow-up
        questions resolve against them). The thread is claimed for the customer as ``ask``
        would; raises ``ThreadAccessError`` when it belongs to another customer.
        """
        settings = self.services.settings
        tenant = tenant_id or settings.default_tenant
        user = user_id or settings.default_user
        await self.services.owners.check(tenant, user, thread_id)
        if not await self.services.owners.claim(tenant, user, thread_id):
            raise ThreadAccessError(f"thread {thread_id} belongs to another customer")
        history: list[AnyMessage] = [
            (HumanMessage if role == "user" else AIMessage)(
                text, additional_kwargs={IMPORTED: True}
            )
            for role, text in messages
        ]
        config: Any = {"configurable": {"thread_id": thread_id}}
        # "abstain" is followed by the end of the graph whatever the state holds.
        await self.graph.aupdate_state(config, {"messages": history}, as_node="abstain")

    @_store_faults_as_errors
    async def resume(
        self,
        thread_id: str,
        reply: str = "",
        *,
        resolve: bool = False,
        name: str | None = None,
        payload: Any = None,
    ) -> TurnResult:
        """A human agent answers an escalated thread (and may resolve it).

        ``payload`` takes any resume payload the UIs send (see ``graph.handover``)
        instead of ``reply`` / ``resolve``; one that says nothing usable raises
        ``ResumeError`` before the thread is touched. The thread waits for the human
        again after each reply until they resolve it. A thread escalated by an older
        release that is not waiting any more gets the reply as ``handoff`` would add it.
        """
        human = parse_resume(
            payload if payload is not None else {"reply": reply, "resolve": resolve, "name": name}
        )
        owner = await self.services.owners.owner(thread_id)
        config: Any = {"configurable": {"thread_id": thread_id}}
        snapshot = await self.graph.aget_state(config)
        escalation: dict[str, Any] = (snapshot.values or {}).get("escalation") or {}
        if owner is None or not (snapshot.interrupts or escalation):
            raise ThreadAccessError(f"thread {thread_id} is not with a human")
        context = Context(tenant_id=owner[0], user_id=owner[1])
        started = time.perf_counter()
        if snapshot.interrupts:
            state = await self.graph.ainvoke(
                Command(resume=payload if payload is not None else asdict(human)),
                config=config,
                context=context,
                durability=self.services.settings.checkpoint_durability,
            )
        else:
            await self.services.tickets.set_status(
                context.tenant_id,
                int(escalation["ticket_id"]),
                "resolved" if human.resolve else "assigned",
            )
            update: dict[str, Any] = {
                "outcome": "escalated",
                "escalation": None if human.resolve else {**escalation, "status": "assigned"},
            }
            if human.reply:
                update["messages"] = [human_message(human)]
            await self.graph.aupdate_state(config, update, as_node="handoff")
            state = (await self.graph.aget_state(config)).values
        return self._result(thread_id, state, (time.perf_counter() - started) * 1000)

    async def _drop_failed_turn(self, config: Any, message_id: str | None) -> None:
        """Remove what a failed turn checkpointed without a reply (``graph.failed_turn``).

        Best effort: when it cannot be done, the next turn's guard does it.
        """
        try:
            snapshot = await self.graph.aget_state(config)
            messages = (snapshot.values or {}).get("messages") or []
            # The failed run's own message has a batch no later run shares.
            removal = removal_of_failed_turn(messages, current="")
            if removal and message_id in {m.id for m in messages}:
                await self.graph.aupdate_state(config, {"messages": removal}, as_node="abstain")
        except Exception as exc:  # the caller gets the turn's own error, not this one
            logger.warning("could not drop the failed turn's message: %s", type(exc).__name__)

    @staticmethod
    def _result(thread_id: str, state: dict[str, Any], latency: float) -> TurnResult:
        reply = next((m for m in reversed(state["messages"]) if isinstance(m, AIMessage)), None)
        escalation = state.get("escalation")
        outcome: Outcome = state.get("outcome") or "abstained"
        return TurnResult(
            thread_id=thread_id,
            outcome=outcome,
            answer=reply.text if reply else "",
            citations=list(state.get("citations") or []),
            escalation=(
                {
                    "ticket_id": escalation["ticket_id"],
                    "reason": ",".join(escalation.get("reasons", [])),
                    "status": escalation.get("status"),
                }
                if escalation and outcome == "escalated"
                else None
            ),
            memories_used=[m["content"] for m in state.get("memories") or []],
            latency_ms=round(latency, 1),
            confidence=state.get("confidence", 0.0),
            route_reasons=list(state.get("route_reasons") or []),
            degraded=state.get("degraded"),
            attachments=list(state.get("received_attachments") or []),
            retrieved=_retrieved(state),
            query=state.get("query") or "",
        )

    @_store_faults_as_errors
    async def forget(self, user_id: str, tenant_id: str | None = None) -> dict[str, int]:
        """Delete everything stored about the user (memories, threads and checkpoints)."""
        tenant = tenant_id or self.services.settings.default_tenant
        return await forget_user(self.services, self.checkpointer, tenant, user_id)

    @_store_faults_as_errors
    async def history(self, thread_id: str) -> list[tuple[str, str]]:
        """The thread's messages as (role, text), oldest first."""
        snapshot = await self.graph.aget_state({"configurable": {"thread_id": thread_id}})
        messages = snapshot.values.get("messages", []) if snapshot.values else []
        return [(m.type, m.text) for m in messages]


@asynccontextmanager
async def open_agent(
    settings: Settings | None = None,
    *,
    checkpointer: CheckpointerKind | None = None,
    services: Services | None = None,
) -> AsyncIterator[SupportAgent]:
    """Start services and a checkpointer, compile the graph, and clean up on exit."""
    async with AsyncExitStack() as stack:
        if services is None:
            services = await create_services(settings)
            stack.push_async_callback(services.aclose)
        lazy = LazyServices()
        lazy.set(services)
        saver = await stack.enter_async_context(open_checkpointer(services.settings, checkpointer))
        compiled = build_graph(lazy).compile(checkpointer=saver, name="support-agent")
        if services.settings.escalation_webhook_url:
            # Tickets the helpdesk missed while we were down; failures wait for later turns.
            with contextlib.suppress(Exception):
                await services.tickets.deliver_pending()
        yield SupportAgent(services, compiled, saver)
