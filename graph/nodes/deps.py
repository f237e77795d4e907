"""What every node needs: the long-lived services, the chat model and the model's tools.

Services are reached through ``LazyServices``, so the graph that ``langgraph.json``
serves builds them on first use, off the event loop.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, Protocol

from langgraph.prebuilt import ToolNode
from langgraph.runtime import Runtime

from graph.model import create_chat_model
from graph.nodes.turn_query import TurnQueries
from state import Context, SupportState
from tools.registry import build_tools
from tools.services import LazyServices, Services

__all__ = ["Node", "NodeDeps", "with_notices"]


class Node(Protocol):
    """A graph node: reads the state and the run's context, returns a state update."""

    def __call__(
        self, state: SupportState, *, runtime: Runtime[Context]
    ) -> Awaitable[dict[str, Any]]:
        """Run the node for one step of the turn."""
        ...


class NodeDeps:
    """The services, the chat model (None in LLM-free mode) and the tools, built once.

    ``queries`` forms each turn's search query once for ``retrieve`` and ``remember``.
    """

    def __init__(self, services: LazyServices) -> None:
        self._services = services
        self.queries = TurnQueries()
        self.model: Any = None
        self._model_ready = False
        self._tool_node: ToolNode | None = None

    async def services(self) -> Services:
        """The started services, with the chat model attached on first use."""
        services = await self._services.get()
        if not self._model_ready:
            # Importing and building the client reads files: not on the event loop.
            self.model = services.model or await services.executor.run(
                create_chat_model, services.settings
            )
            self._model_ready = True
        return services

    async def tool_node(self) -> ToolNode:
        """LangGraph's ``ToolNode`` over the registry's tools (each behind resilience)."""
        if self._tool_node is None:
            services = await self.services()
            self._tool_node = ToolNode(build_tools(services))
        return self._tool_node


def with_notices(state: SupportState, text: str) -> str:
    """The reply, after a word about any attached file that could not be read."""
    if not state.attachment_notices:
        return text
    return " ".join(state.attachment_notices) + "\n\n" + text
