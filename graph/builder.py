"""``build_graph()``: the support conversation as a LangGraph state machine.

guard -> retrieve -> remember -> route, then answer (with the model's tool
rounds through ``tools``), abstain, or create_ticket -> handoff, which waits for the
human again after each reply until they resolve the ticket. A refused message
skips retrieval and memory; while a thread is with a human, customer messages are
acknowledged and go to ``handoff``; the model's accepted handover goes from ``tools``
to ``create_ticket``. The input channel takes files and long text out of the input
before anything is checkpointed (``graph.intake``). The edges are the pure functions
of ``graph.routing``. The builder is returned uncompiled so each caller picks its
checkpointer; ``graph`` (no checkpointer) is what ``langgraph.json`` serves, because
the server brings its own.
"""

from __future__ import annotations

import functools
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from graph.intake import InputChannel
from graph.nodes import (
    NodeDeps,
    make_abstain,
    make_acknowledge,
    make_answer,
    make_create_ticket,
    make_guard,
    make_handoff,
    make_remember,
    make_retrieve,
    make_route,
    make_tools,
)
from graph.routing import (
    after_answer,
    after_create_ticket,
    after_guard,
    after_handoff,
    after_route,
    after_tools,
)
from state import Context, SupportInput, SupportState
from tools.redaction.secrets import install_log_redaction
from tools.resilience.deadline import deadline_scope
from tools.services import LazyServices
from tools.telemetry import annotate_node, node_span

__all__ = ["SupportGraph", "build_graph", "graph"]


class SupportGraph(StateGraph[SupportState, Context, SupportInput, SupportState]):
    """``StateGraph`` whose compiled input channel never holds a file's bytes.

    LangGraph checkpoints the ``__start__`` channel as the run's input arrives; this
    swaps it, at compile time, for ``InputChannel`` (same semantics, files and long
    text moved to the guard's stash first), whoever compiles the builder.
    """

    def compile(self, *args: Any, **kwargs: Any) -> CompiledStateGraph[Any, Any, Any, Any]:
        """Compile as ``StateGraph`` does, with ``InputChannel`` as the input channel."""
        compiled = super().compile(*args, **kwargs)
        compiled.channels[START] = InputChannel(self.input_schema)
        return compiled


def _instrumented(name: str, node: Any, *, deadline: bool) -> Any:
    """``node`` in its own span and, for the automated turn, inside the turn's deadline."""

    @functools.wraps(node)
    async def run(state: SupportState, *args: Any, **kwargs: Any) -> Any:
        with node_span(name) as span:
            with deadline_scope(state.deadline_at if deadline else None):
                update = await node(state, *args, **kwargs)
            annotate_node(span, update)
            return update

    return run


def build_graph(services: LazyServices | None = None) -> SupportGraph:
    """The uncompiled graph; ``services`` defaults to ones built from the environment."""
    deps = NodeDeps(services or LazyServices())
    builder = SupportGraph(SupportState, input_schema=SupportInput, context_schema=Context)
    # The guard starts the turn's clock; its own work (reading files) has bounds of its own.
    # A human's pace (acknowledge, handoff): no deadline, a reply can come hours later.
    nodes = {
        "guard": (make_guard, False),
        "retrieve": (make_retrieve, True),
        "remember": (make_remember, True),
        "route": (make_route, True),
        "answer": (make_answer, True),
        "tools": (make_tools, True),
        "abstain": (make_abstain, True),
        "create_ticket": (make_create_ticket, True),
        "acknowledge": (make_acknowledge, False),
        "handoff": (make_handoff, False),
    }
    for name, (make, deadline) in nodes.items():
        builder.add_node(name, _instrumented(name, make(deps), deadline=deadline))
    builder.add_edge(START, "guard")
    builder.add_conditional_edges("guard", after_guard)
    builder.add_edge("retrieve", "remember")
    builder.add_edge("remember", "route")
    builder.add_conditional_edges("route", after_route)
    builder.add_conditional_edges("answer", after_answer)
    builder.add_conditional_edges("tools", after_tools)
    builder.add_edge("abstain", END)
    builder.add_conditional_edges("create_ticket", after_create_ticket)
    builder.add_edge("acknowledge", "handoff")
    builder.add_conditional_edges("handoff", after_handoff)
    return builder


install_log_redaction()  # the server's log handlers never see a customer's secrets
graph = build_graph().compile(name="support-agent")
