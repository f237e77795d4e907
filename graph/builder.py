"""``build_graph()``: the support conversation as a LangGraph state machine.

guard -> retrieve -> remember -> route, then answer (with the model's tool
rounds through ``tools``), abstain, or create_ticket -> handoff. A refused message
skips retrieval and memory; while a thread is with a human, customer messages go
straight to ``handoff``; the model's accepted handover goes from ``tools`` to
``create_ticket``. The edges are the pure functions of ``graph.routing``. The
builder is returned uncompiled so each caller picks its checkpointer; ``graph`` (no checkpointer) is
what ``langgraph.json`` serves, because the server brings its own.
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from graph.nodes import (
    NodeDeps,
    make_abstain,
    make_answer,
    make_create_ticket,
    make_guard,
    make_handoff,
    make_remember,
    make_retrieve,
    make_route,
    make_tools,
)
from graph.routing import after_answer, after_guard, after_route, after_tools
from state import Context, SupportInput, SupportState
from tools.redaction.secrets import install_log_redaction
from tools.services import LazyServices

__all__ = ["build_graph", "graph"]


def build_graph(
    services: LazyServices | None = None,
) -> StateGraph[SupportState, Context, SupportInput, SupportState]:
    """The uncompiled graph; ``services`` defaults to ones built from the environment."""
    deps = NodeDeps(services or LazyServices())
    builder = StateGraph(SupportState, input_schema=SupportInput, context_schema=Context)
    builder.add_node("guard", make_guard(deps))
    builder.add_node("retrieve", make_retrieve(deps))
    builder.add_node("remember", make_remember(deps))
    builder.add_node("route", make_route(deps))
    builder.add_node("answer", make_answer(deps))
    builder.add_node("tools", make_tools(deps))
    builder.add_node("abstain", make_abstain(deps))
    builder.add_node("create_ticket", make_create_ticket(deps))
    builder.add_node("handoff", make_handoff(deps))
    builder.add_edge(START, "guard")
    builder.add_conditional_edges("guard", after_guard)
    builder.add_edge("retrieve", "remember")
    builder.add_edge("remember", "route")
    builder.add_conditional_edges("route", after_route)
    builder.add_conditional_edges("answer", after_answer)
    builder.add_conditional_edges("tools", after_tools)
    builder.add_edge("abstain", END)
    builder.add_edge("create_ticket", "handoff")
    builder.add_edge("handoff", END)
    return builder


install_log_redaction()  # the server's log handlers never see a customer's secrets
graph = build_graph().compile(name="support-agent")
