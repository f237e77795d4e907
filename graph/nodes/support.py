"""The graph's nodes. Each reads the run's ``Context`` for identity and returns a state update.

Nodes reach long-lived dependencies through ``LazyServices``, so the graph
that ``langgraph.json`` serves builds them on first use, off the event loop.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any, cast

from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, HumanMessage
from langgraph.config import get_config
from langgraph.runtime import Runtime
from sqlalchemy.exc import SQLAlchemyError

from graph.attachment_turn import (
    acknowledge,
    merge_passages,
    receive_attachments,
    refers_to_attachment,
)
from graph.extractive import extractive_answer
from graph.grounded import (
    EscalateToHuman,
    EscalationProposed,
    ReadAttachment,
    UngroundedAnswerError,
    llm_answer,
)
from graph.message_checks import check_message, message_text
from graph.model import create_chat_model
from graph.nodes.escalation import create_ticket, deliver_in_background, handoff
from graph.nodes.remember import memory_focus, remember_turn
from graph.prompts import (
    ABSTAIN_KB_DOWN,
    ABSTAIN_LOW_CONFIDENCE,
    ABSTAIN_NO_KB,
    ABSTAIN_SUGGESTIONS,
)
from graph.query import form_query
from graph.routing import decide_route
from state import Context, Passage, SupportState
from tools.escalation.policy import escalation_reasons
from tools.resilience.errors import ToolError
from tools.services import LazyServices, Services

__all__ = ["SupportNodes"]

logger = logging.getLogger(__name__)

_TURN_DEFAULTS = SupportState()
_FOREIGN_THREAD = (
    "This conversation belongs to another customer, so I can't continue it for you. "
    "Please start a new conversation."
)


_READ_ATTACHMENT_CHARS = 12_000
_KEPT_ACROSS_TURNS = ("messages", "escalation", "abstain_streak", "attachments")


def _reset_turn() -> dict[str, Any]:
    """Per-turn fields back to their defaults, so nothing from the last turn leaks."""
    fresh = asdict(_TURN_DEFAULTS)
    for name in _KEPT_ACROSS_TURNS:
        fresh.pop(name)
    return fresh


def _context(runtime: Runtime[Context]) -> Context:
    """The run's context; the server may hand it over as a plain dict."""
    context: Any = runtime.context
    if isinstance(context, Context):
        return context
    if isinstance(context, dict):
        known = {k: v for k, v in context.items() if k in Context.__dataclass_fields__}
        return Context(**known)
    return Context()


def _quoted_a_file(state: SupportState) -> bool:
    """Whether the assistant's previous answer cited one of the customer's files."""
    previous = next((m for m in reversed(state.messages) if isinstance(m, AIMessage)), None)
    return previous is not None and "(attachment:" in previous.text


def _with_notices(state: SupportState, text: str) -> str:
    """The reply, after a word about any attached file that could not be read."""
    if not state.attachment_notices:
        return text
    return " ".join(state.attachment_notices) + "\n\n" + text


class SupportNodes:
    """The node functions, bound to the services they use."""

    def __init__(self, services: LazyServices) -> None:
        self._services = services
        self._model: Any = None
        self._model_ready = False

    async def services(self) -> Services:
        """The started services, with the chat model attached on first use."""
        services = await self._services.get()
        if not self._model_ready:
            # Importing and building the client reads files: not on the event loop.
            self._model = services.model or await services.executor.run(
                create_chat_model, services.settings
            )
            self._model_ready = True
        return services

    async def guard(self, state: SupportState, runtime: Runtime[Context]) -> dict[str, Any]:
        """Validate the newest customer message; replace it if it must not be stored."""
        services = await self.services()
        deliver_in_background(services)  # tickets the helpdesk has not acknowledged yet
        update = _reset_turn()
        last = state.messages[-1] if state.messages else None
        if not isinstance(last, HumanMessage):
            update.update(
                rejection="empty", rejection_reply="I didn't receive a message. How can I help?"
            )
            return update
        thread_id = str((get_config().get("configurable") or {}).get("thread_id") or "")
        context = _context(runtime)
        if thread_id and not await services.owners.claim(
            context.tenant_id, context.user_id, thread_id
        ):
            update.update(rejection="foreign_thread", rejection_reply=_FOREIGN_THREAD)
            update["messages"] = [
                HumanMessage("[message refused: not this thread's customer]", id=last.id)
            ]
            return update
        if message_text(last.content)[1]:
            return await self._guard_with_files(services, state, last, context, thread_id, update)
        verdict = check_message(last.content, services.settings.max_message_chars)
        if state.escalation and not verdict.rejection:
            update["outcome"] = "escalated"  # a human answers this turn (see handoff)
        if verdict.rejection:
            update.update(rejection=verdict.rejection, rejection_reply=verdict.reply)
            if verdict.placeholder is not None:
                update["messages"] = [HumanMessage(verdict.placeholder, id=last.id)]
        elif verdict.text != message_text(last.content)[0]:
            update["messages"] = [HumanMessage(verdict.text, id=last.id)]
        return update

    async def _guard_with_files(
        self,
        services: Services,
        state: SupportState,
        last: HumanMessage,
        context: Context,
        thread_id: str,
        update: dict[str, Any],
    ) -> dict[str, Any]:
        """Store the message's files; keep only its words and references to them."""
        intake = await receive_attachments(services, last.content, context, thread_id)
        received = [ref.as_state() for ref in intake.received]
        known = {a["id"] for a in state.attachments}
        update["attachments"] = [*state.attachments, *(r for r in received if r["id"] not in known)]
        update["received_attachments"] = received
        update["attachment_notices"] = intake.notices
        verdict = check_message(intake.text, services.settings.max_message_chars)
        stored = verdict.placeholder or verdict.text
        if verdict.rejection == "empty":  # files and no question: say what was read, ask
            names = ", ".join(r["filename"] for r in received) or "unreadable content"
            stored = f"[attached: {names}]"
            update.update(
                rejection="attachment_only",
                rejection_reply=acknowledge(intake.received, intake.notices),
                attachment_notices=[],
            )
        elif verdict.rejection:
            update.update(rejection=verdict.rejection, rejection_reply=verdict.reply)
        elif state.escalation:
            update["outcome"] = "escalated"  # a human answers this turn (see handoff)
        update["messages"] = [
            HumanMessage(stored, id=last.id, additional_kwargs={"attachments": received})
        ]
        return update

    async def retrieve(self, state: SupportState, runtime: Runtime[Context]) -> dict[str, Any]:
        """Search the tenant's knowledge base with a query formed from the conversation."""
        services = await self.services()
        context = _context(runtime)
        user_texts = [
            message_text(m.content)[0] for m in state.messages if isinstance(m, HumanMessage)
        ]
        query = form_query(user_texts)
        kb = services.kb
        await kb.warm_up(context.tenant_id)  # model loading is start-up, not search time
        searched = await services.resilience.run(
            "kb_search",
            lambda: kb.search(query, context.tenant_id, threshold=context.abstain_threshold),
        )
        kb_error: str | None = None
        if searched.ok:
            result = searched.data
        else:
            kb_error = searched.error_kind
            logger.warning("knowledge base search failed (%s); BM25 fallback", kb_error)
            result = await kb.search_lexical(query, context.tenant_id)
        passages, attachment_passages, attachments_down = list(result.passages), 0, False
        if any(a["status"] == "converted" for a in state.attachments):
            thread_id = str((get_config().get("configurable") or {}).get("thread_id") or "")
            try:
                found = await services.attachments.search(context.tenant_id, thread_id, query)
            except (SQLAlchemyError, OSError) as error:  # the articles still answer
                logger.warning("attachment search failed (%s)", type(error).__name__)
                found, attachments_down = [], True
            passages, attachment_passages = merge_passages(
                result.passages,
                found,
                threshold=services.settings.attachment_threshold,
                refers=refers_to_attachment(
                    user_texts[-1],
                    # "and the subtotal on it?" after an answer from a file; but when the
                    # articles answer confidently, an "it" is not about the file.
                    file_in_focus=bool(state.received_attachments)
                    or (_quoted_a_file(state) and result.top_score < result.threshold),
                ),
            )
        degraded = [f"kb_{kb_error}"] if kb_error else []
        degraded += ["attachments_unavailable"] if attachments_down else []
        return {
            "query": query,
            "passages": passages,
            "attachment_passages": attachment_passages,
            "top_score": result.top_score,
            "threshold": result.threshold,
            "confidence": result.confidence,
            "query_terms": result.term_weights,
            "kb_error": kb_error,
            "degraded": ",".join(degraded) or None,
        }

    async def remember(self, state: SupportState, runtime: Runtime[Context]) -> dict[str, Any]:
        """Store what the customer said; recall their memories for this turn."""
        services = await self.services()
        return await remember_turn(
            services, state, _context(runtime), get_config(), model=self._model
        )

    async def route(self, state: SupportState, runtime: Runtime[Context]) -> dict[str, Any]:
        """Record the routing decision and its reasons: answer, abstain or escalate."""
        decision, reasons = decide_route(
            rejection=state.rejection,
            passages=len(state.passages),
            top_score=state.top_score,
            threshold=state.threshold,
            kb_error=state.kb_error,
            attachment_passages=state.attachment_passages,
        )
        if state.rejection or not state.messages:
            return {"route": decision, "route_reasons": reasons}
        services = await self.services()
        escalate = escalation_reasons(
            message_text(state.messages[-1].content)[0],
            abstain_streak=state.abstain_streak,
            will_abstain=decision == "abstain",
            policy=services.settings.escalation_policy(_context(runtime).tenant_id),
        )
        if escalate:
            return {"route": "escalate", "route_reasons": escalate, "escalation_reasons": escalate}
        return {"route": decision, "route_reasons": reasons}

    async def create_ticket(self, state: SupportState, runtime: Runtime[Context]) -> dict[str, Any]:
        """Create this escalation's ticket exactly once."""
        services = await self.services()
        thread_id = str((get_config().get("configurable") or {}).get("thread_id") or "")
        return await create_ticket(services, state, _context(runtime), thread_id, model=self._model)

    async def handoff(self, state: SupportState, runtime: Runtime[Context]) -> dict[str, Any]:
        """Pause for the human; add their reply when resumed."""
        services = await self.services()
        return await handoff(services, state, _context(runtime))

    async def answer(self, state: SupportState, runtime: Runtime[Context]) -> dict[str, Any]:
        """A grounded answer with citations: from the model, else extractively."""
        services = await self.services()
        degraded: str | None = None
        model = self._model
        if model is not None:
            tools: list[Any] = [EscalateToHuman]
            if state.attachments:
                tools.append(ReadAttachment)
            try:  # the model may propose a handover; code decides (see route policy)
                chat = model.bind_tools(tools)
            except NotImplementedError:
                chat = model
            context = _context(runtime)
            thread_id = str((get_config().get("configurable") or {}).get("thread_id") or "")

            async def read_attachment(wanted: str) -> Passage | None:
                # Scoped by the run's tenant and thread: the model names a file, never whose.
                found = await services.attachments.read(context.tenant_id, thread_id, wanted)
                if found is None or not found.markdown:
                    return None
                doc_id = f"attachment:{found.ref.id}"
                text = found.markdown[:_READ_ATTACHMENT_CHARS]
                return Passage(
                    doc_id=doc_id,
                    title=found.ref.filename,
                    source=doc_id,
                    text=text,
                    score=1.0,
                    dense=1.0,
                )

            async def invoke(messages: list[AnyMessage]) -> BaseMessage:
                response, _ = await services.resilience.call(
                    "model", lambda: chat.ainvoke(messages)
                )
                return cast(BaseMessage, response)

            try:
                grounded = await llm_answer(
                    invoke,
                    state.messages,
                    state.passages,
                    company=services.settings.company_name,
                    memories=[m["content"] for m in state.memories],
                    attachments=state.attachments,
                    read_attachment=read_attachment,
                )
                return self._answered(
                    _with_notices(state, grounded.text), grounded.citations, state.degraded
                )
            except EscalationProposed as proposal:
                policy = services.settings.escalation_policy(context.tenant_id)
                if "model_proposed" in policy.enabled_reasons:
                    logger.info("model proposed a handover: %s", proposal.reason[:200])
                    return {
                        "route": "escalate",
                        "escalation_reasons": ["model_proposed"],
                        "route_reasons": ["model_proposed"],
                    }
                degraded = "model_escalation_refused"
            except UngroundedAnswerError:
                degraded = "model_uncited"
            except ToolError as error:
                logger.warning("model failed (%s); answering without it", error.kind)
                degraded = f"model_{error.kind}"
            degraded = ",".join(filter(None, [state.degraded, degraded])) or None
        else:
            degraded = state.degraded
        question = message_text(state.messages[-1].content)[0] if state.messages else ""
        about_a_file = state.attachment_passages > 0  # memories do not frame a file's content
        extracted = extractive_answer(
            question,
            state.passages,
            state.query_terms,
            focus=None if about_a_file else memory_focus(state.memories),
        )
        if not extracted.citations:
            return {
                "messages": [AIMessage(_with_notices(state, ABSTAIN_LOW_CONFIDENCE))],
                "outcome": "abstained",
                "route_reasons": [*state.route_reasons, "nothing_extractable"],
                "degraded": degraded,
                "abstain_streak": state.abstain_streak + 1,
            }
        return self._answered(_with_notices(state, extracted.text), extracted.citations, degraded)

    @staticmethod
    def _answered(text: str, citations: list[Any], degraded: str | None) -> dict[str, Any]:
        return {
            "messages": [AIMessage(text)],
            "outcome": "answered",
            "citations": citations,
            "degraded": degraded,
            "abstain_streak": 0,
        }

    async def abstain(self, state: SupportState, runtime: Runtime[Context]) -> dict[str, Any]:
        """Say plainly that there is no grounded answer, and ask for what would help."""
        if state.rejection:
            text = state.rejection_reply or "I couldn't read that message. Could you rephrase it?"
        elif "kb_unavailable" in state.route_reasons:
            text = ABSTAIN_KB_DOWN
        elif "no_passages" in state.route_reasons:
            services = await self.services()
            version, _ = await services.kb.collection_state(_context(runtime).tenant_id)
            text = ABSTAIN_NO_KB if version == 0 else ABSTAIN_LOW_CONFIDENCE
        else:
            text = ABSTAIN_LOW_CONFIDENCE
            near = [p for p in state.passages[:3] if p["dense"] >= state.threshold - 0.08]
            if near:
                titles = "\n".join(f"- {p['title']}" for p in near)
                text = f"{text}\n\n{ABSTAIN_SUGGESTIONS}\n{titles}"
        streak = state.abstain_streak if state.rejection else state.abstain_streak + 1
        return {
            "messages": [AIMessage(_with_notices(state, text))],
            "outcome": "abstained",
            "citations": [],
            "abstain_streak": streak,
        }
