"""The ``answer`` node: a grounded reply with citations, from the model or extractively.

In LLM mode the model gets the turn's passages and the registry's tools. A reply
that calls tools goes to the ``tools`` node (LangGraph's ``ToolNode``) and comes
back here with the results, for at most ``TOOL_ROUNDS`` rounds; then the model must
answer without tools. Its answer is accepted only if it cites a passage it was
given or a tool showed it; otherwise, or when the model fails, the LLM-free
answerer replies and the turn says why in ``degraded``. Tool traffic of earlier
turns is not sent again: only customer messages and final answers.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from typing import Any, cast

from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, HumanMessage, ToolMessage
from langgraph.constants import TAG_NOSTREAM
from langgraph.runtime import Runtime

from graph.extractive import extractive_answer
from graph.grounded import UngroundedAnswerError, answer_prompt, grounded
from graph.memory_focus import memory_focus
from graph.message_checks import message_text
from graph.nodes.abstain import low_confidence_reply
from graph.nodes.deps import Node, NodeDeps, with_notices
from state import Citation, Context, Passage, SupportState
from tools.resilience.errors import ToolError
from tools.services import Services

__all__ = ["TOOL_ROUNDS", "make_answer", "split_turn"]

logger = logging.getLogger(__name__)

TOOL_ROUNDS = 2
"""Model replies with tool calls allowed per turn; the next reply gets no tools."""
_HISTORY = 12


def split_turn(messages: Sequence[AnyMessage]) -> tuple[list[AnyMessage], list[AnyMessage]]:
    """(the conversation up to this turn's customer message, this turn's tool traffic).

    Earlier turns keep only customer messages and final answers: their tool calls
    were for questions already answered, and a cut through a call and its result
    would be refused by the model's API.
    """
    last_human = max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=-1)
    earlier: list[AnyMessage] = [
        m
        for m in messages[: last_human + 1]
        if isinstance(m, HumanMessage) or (isinstance(m, AIMessage) and not m.tool_calls)
    ]
    return earlier, list(messages[last_human + 1 :])


def _tool_passages(current: Sequence[AnyMessage]) -> list[Passage]:
    """Passages this turn's tools showed the model (citable like retrieved ones)."""
    found: list[Passage] = []
    for message in current:
        artifact = message.artifact if isinstance(message, ToolMessage) else None
        data = artifact.get("data") if isinstance(artifact, dict) else None
        if isinstance(data, dict):
            found.extend(cast(list[Passage], data.get("passages") or []))
    return found


def _answered(text: str, citations: list[Citation], degraded: str | None) -> dict[str, Any]:
    return {
        "messages": [AIMessage(text)],
        "outcome": "answered",
        "citations": citations,
        "degraded": degraded,
        "abstain_streak": 0,
    }


async def _model_answer(
    deps: NodeDeps, services: Services, state: SupportState
) -> tuple[dict[str, Any] | None, str | None]:
    """(the state update, None) when the model answered or called tools; else (None, why)."""
    earlier, current = split_turn(state.messages)
    rounds = sum(1 for m in current if isinstance(m, AIMessage) and m.tool_calls)
    refused = any(isinstance(m, ToolMessage) and m.name == "escalate_to_human" for m in current)
    chat: Any = deps.model
    if rounds < TOOL_ROUNDS:
        tools = list((await deps.tool_node()).tools_by_name.values())
        with contextlib.suppress(NotImplementedError):  # no tool calling: answer from passages
            chat = chat.bind_tools(tools)
    messages = answer_prompt(
        [*earlier[-_HISTORY:], *current],
        state.passages,
        company=services.settings.company_name,
        memories=[m["content"] for m in state.memories],
        attachments=state.attachments,
    )
    try:
        # Not streamed token by token: the customer sees only the checked answer, which
        # this node returns (LangGraph streams a node's new messages when it ends).
        response, _ = await services.resilience.call(
            "model", lambda: chat.ainvoke(messages, config={"tags": [TAG_NOSTREAM]})
        )
    except ToolError as error:
        logger.warning("model failed (%s); answering without it", error.kind)
        return None, f"model_{error.kind}"
    reply = cast(BaseMessage, response)
    if isinstance(reply, AIMessage) and reply.tool_calls and rounds < TOOL_ROUNDS:
        return {"messages": [reply]}, None  # to the tools node, then back here
    try:
        answer = grounded(reply.text, [*state.passages, *_tool_passages(current)])
    except UngroundedAnswerError:
        return None, "model_escalation_refused" if refused else "model_uncited"
    return _answered(with_notices(state, answer.text), answer.citations, state.degraded), None


def make_answer(deps: NodeDeps) -> Node:
    """The answer node over ``deps``."""

    async def answer(state: SupportState, runtime: Runtime[Context]) -> dict[str, Any]:
        """A grounded answer with citations: from the model, else extractively."""
        services = await deps.services()
        degraded = state.degraded
        if deps.model is not None:
            update, why = await _model_answer(deps, services, state)
            if update is not None:
                return update
            degraded = ",".join(filter(None, [state.degraded, why])) or None
        earlier, _ = split_turn(state.messages)  # after tool rounds, the question is earlier
        question = message_text(earlier[-1].content)[0] if earlier else ""
        about_a_file = state.attachment_passages > 0  # memories do not frame a file's content
        extracted = extractive_answer(
            question,
            state.passages,
            state.query_terms,
            focus=None if about_a_file else memory_focus(state.memories),
        )
        if not extracted.citations:
            return {
                "messages": [AIMessage(with_notices(state, low_confidence_reply(state)))],
                "outcome": "abstained",
                "route_reasons": [*state.route_reasons, "nothing_extractable"],
                "degraded": degraded,
                "abstain_streak": state.abstain_streak + 1,
            }
        return _answered(with_notices(state, extracted.text), extracted.citations, degraded)

    return answer
