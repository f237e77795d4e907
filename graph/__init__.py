"""The support conversation: nodes, routing, answerers, the graph, the runner and the CLI.

Import ``graph.builder`` for ``build_graph``/``graph`` and ``graph.embedded`` for the
embedded runner; this package keeps its import light so the CLI starts fast.
"""

__all__: list[str] = []
