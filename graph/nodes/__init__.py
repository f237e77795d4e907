"""The graph's nodes, one module each."""

from graph.nodes.support import SupportNodes

__all__ = ["SupportNodes"]
