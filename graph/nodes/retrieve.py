"""The ``retrieve`` node: search the tenant's knowledge base (and the thread's files).

The query is formed from the conversation, not only the last message. When the
search fails, BM25 over the chunks already in memory answers instead and the turn
is marked degraded; when the thread's files cannot be searched, the articles still
answer.
"""

from __future__ import annotations

import logging
from typing import Any

from langchain_core.messages import AIMessage
from langgraph.config import get_config
from langgraph.runtime import Runtime
from sqlalchemy.exc import SQLAlchemyError

from graph.attachment_turn import merge_passages, refers_to_attachment
from graph.nodes.deps import Node, NodeDeps
from graph.nodes.route import intent_text
from graph.nodes.turn_query import conversation_turns
from graph.sources import FILE_SOURCE
from state import Context, SupportState
from tools.identity import identity_of, thread_of
from tools.knowledge_base import SearchResult

__all__ = ["make_retrieve"]

logger = logging.getLogger(__name__)


def _quoted_a_file(state: SupportState) -> bool:
    """Whether the assistant's previous answer cited one of the customer's files."""
    previous = next((m for m in reversed(state.messages) if isinstance(m, AIMessage)), None)
    return previous is not None and FILE_SOURCE in previous.text


def make_retrieve(deps: NodeDeps) -> Node:
    """The retrieve node over ``deps``."""

    async def retrieve(state: SupportState, runtime: Runtime[Context]) -> dict[str, Any]:
        """Search the tenant's knowledge base with a query formed from the conversation."""
        services = await deps.services()
        context = identity_of(runtime)
        user_texts = [text for role, text in conversation_turns(state.messages) if role == "user"]
        kb = services.kb
        thread_id = thread_of(get_config())
        query = await deps.queries.of(state, services, deps.model, context.tenant_id, thread_id)
        words = intent_text(state)

        async def search() -> SearchResult:
            # A follow-up: route reads the intents of the customer's own words, so they
            # are embedded now, in the same model call as the query.
            return await kb.search(
                query,
                context.tenant_id,
                threshold=context.abstain_threshold,
                also_embed=[words] if words.strip() and words != query else [],
            )

        searched = await services.resilience.run("kb_search", search)
        kb_error: str | None = None
        if searched.ok:
            result = searched.data
        else:
            kb_error = searched.error_kind
            logger.warning("knowledge base search failed (%s); BM25 fallback", kb_error)
            result = await kb.search_lexical(query, context.tenant_id)
        passages, attachment_passages, attachments_down = list(result.passages), 0, False
        if any(a["status"] == "converted" for a in state.attachments):
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
                    filenames=[a["filename"] for a in state.received_attachments],
                ),
            )
        degraded = [f"kb_{kb_error}"] if kb_error else []
        degraded += ["attachments_unavailable"] if attachments_down else []
        update: dict[str, Any] = {
            "query": query,
            "passages": passages,
            "attachment_passages": attachment_passages,
            "top_score": result.top_score,
            "threshold": result.threshold,
            "confidence": result.confidence,
            "answerable": result.answerable,
            "retrieval_signals": result.signals.as_dict() if result.signals else {},
            "query_terms": result.term_weights,
            "internal_articles": list(result.internal),
            "kb_error": kb_error,
        }
        if degraded:  # added to what ``remember``, running alongside, may report
            update["degraded"] = ",".join(degraded)
        return update

    return retrieve
