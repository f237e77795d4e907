"""``build_graph()``: the support conversation as a LangGraph state machine.

guard -> retrieve and remember side by side (the search and the customer's memories,
one step) -> route, which joins them, then answer (with the model's tool
rounds through ``tools``), abstain, or create_ticket -> handoff, which waits for the
human again after each reply until they resolve the ticket. A refused message
skips retrieval and memory; while a thread is with a human, customer messages are
acknowledged and go to ``handoff``; the model's accepted handover goes from ``tools``
to ``create_ticket``. The input channel takes files and long text out of the input
before anything is checkpointed (``graph.intake``). The edges are the pure functions
of ``graph.routing``. The builder is returned uncompiled so each caller picks its
checkpointer; ``graph`` (no checkpointer) is what ``langgraph.json`` serves, because
the server brings its own.

How checkpoints store the conversation follows ``SUPPORT_CHECKPOINT_MESSAGES``
(``state.state_schemas``): the served graph reads it from the server's environment,
the embedded runner from its settings, so both write threads the same way.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Callable
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
    GUARD_TARGETS,
    after_answer,
    after_create_ticket,
    after_guard,
    after_handoff,
    after_route,
    after_tools,
)
from state import Context, MessagesStorage, SupportInput, SupportState, state_schemas
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


def _reading(state: type[SupportState], path: Callable[..., Any]) -> Callable[..., Any]:
    """``path`` with its state parameter annotated ``state``.

    LangGraph adds the schema a routing function's annotation names to the graph; with
    ``messages`` stored as deltas that must be the graph's own state class, whose
    ``messages`` channel is the same, not ``SupportState``'s.
    """
    hints = typing.get_type_hints(path)
    first = next(iter(hints))

    @functools.wraps(path)
    def route(value: Any) -> Any:
        return path(value)

    route.__annotations__ = {**hints, first: state}
    return route


def build_graph(
    services: LazyServices | None = None,
    *,
    messages: MessagesStorage | None = None,
    snapshot_every: int | None = None,
) -> SupportGraph:
    """The uncompiled graph; ``services`` defaults to ones built from the environment.

    ``messages`` (``full`` or ``delta``) and ``snapshot_every`` default to the services'
    settings (``checkpoint_messages``, ``checkpoint_messages_snapshot_every``).
    """
    lazy = services or LazyServices()
    settings = lazy.settings
    state, inputs = state_schemas(
        messages or settings.checkpoint_messages,
        snapshot_every or settings.checkpoint_messages_snapshot_every,
    )
    deps = NodeDeps(lazy)
    builder = SupportGraph(state, input_schema=inputs, context_schema=Context)
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
        node = _instrumented(name, make(deps), deadline=deadline)
        builder.add_node(name, node, input_schema=state)
    builder.add_edge(START, "guard")
    builder.add_conditional_edges("guard", _reading(state, after_guard), list(GUARD_TARGETS))
    # One step fewer than one after the other, and one checkpoint fewer; route waits for both.
    builder.add_edge(["retrieve", "remember"], "route")
    builder.add_conditional_edges("route", _reading(state, after_route))
    builder.add_conditional_edges("answer", _reading(state, after_answer))
    builder.add_conditional_edges("tools", _reading(state, after_tools))
    builder.add_edge("abstain", END)
    builder.add_conditional_edges("create_ticket", _reading(state, after_create_ticket))
    builder.add_edge("acknowledge", "handoff")
    builder.add_conditional_edges("handoff", _reading(state, after_handoff))
    return builder


install_log_redaction()  # the server's log handlers never see a customer's secrets
graph = build_graph().compile(name="support-agent")
