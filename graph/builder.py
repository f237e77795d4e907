"""``build_graph()``: the support conversation as a LangGraph state machine.

guard -> retrieve -> remember -> route, then answer, abstain, or create_ticket ->
handoff. A refused message skips retrieval and memory; while a thread is with a
human, customer messages go straight to ``handoff``. The builder is returned
uncompiled so each caller picks its checkpointer; ``graph`` (no checkpointer) is
what ``langgraph.json`` serves, because the server brings its own.
"""

from __future__ import annotations

from typing import Literal

from langgraph.graph import END, START, StateGraph

from graph.nodes.support import SupportNodes
from state import Context, SupportState
from tools.redaction.secrets import install_log_redaction
from tools.services import LazyServices

__all__ = ["build_graph", "graph"]


def _after_guard(state: SupportState) -> Literal["retrieve", "route", "handoff"]:
    if state.rejection:
        return "route"
    if state.escalation:  # the thread is with a human until they resolve it
        return "handoff"
    return "retrieve"


def _after_route(state: SupportState) -> Literal["answer", "abstain", "create_ticket"]:
    if state.route == "escalate":
        return "create_ticket"
    return "answer" if state.route == "answer" else "abstain"


def _after_answer(state: SupportState) -> Literal["create_ticket", "__end__"]:
    # The model proposed a handover and the tenant's policy accepted it.
    return "create_ticket" if state.route == "escalate" else "__end__"


def build_graph(
    services: LazyServices | None = None,
) -> StateGraph[SupportState, Context, SupportState, SupportState]:
    """The uncompiled graph; ``services`` defaults to ones built from the environment."""
    nodes = SupportNodes(services or LazyServices())
    builder = StateGraph(SupportState, context_schema=Context)
    builder.add_node("guard", nodes.guard)
    builder.add_node("retrieve", nodes.retrieve)
    builder.add_node("remember", nodes.remember)
    builder.add_node("route", nodes.route)
    builder.add_node("answer", nodes.answer)
    builder.add_node("abstain", nodes.abstain)
    builder.add_node("create_ticket", nodes.create_ticket)
    builder.add_node("handoff", nodes.handoff)
    builder.add_edge(START, "guard")
    builder.add_conditional_edges("guard", _after_guard)
    builder.add_edge("retrieve", "remember")
    builder.add_edge("remember", "route")
    builder.add_conditional_edges("route", _after_route)
    builder.add_conditional_edges("answer", _after_answer)
    builder.add_edge("abstain", END)
    builder.add_edge("create_ticket", "handoff")
    builder.add_edge("handoff", END)
    return builder


install_log_redaction()  # the server's log handlers never see a customer's secrets
graph = build_graph().compile(name="support-agent")
