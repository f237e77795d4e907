"""The graph's nodes, one module each, built by factories over the shared ``NodeDeps``."""

from graph.nodes.abstain import make_abstain
from graph.nodes.answer import make_answer
from graph.nodes.create_ticket import make_create_ticket
from graph.nodes.deps import Node, NodeDeps
from graph.nodes.guard import make_guard
from graph.nodes.handoff import make_acknowledge, make_handoff
from graph.nodes.remember import make_remember
from graph.nodes.retrieve import make_retrieve
from graph.nodes.route import make_route
from graph.nodes.tools import make_tools

__all__ = [
    "Node",
    "NodeDeps",
    "make_abstain",
    "make_acknowledge",
    "make_answer",
    "make_create_ticket",
    "make_guard",
    "make_handoff",
    "make_remember",
    "make_retrieve",
    "make_route",
    "make_tools",
]
