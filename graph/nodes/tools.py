"""The ``tools`` node: the model's tool calls, run by LangGraph's ``ToolNode``.

The calls and their results are ``ToolMessage``s in the conversation (visible in
Studio). Every tool is behind the resilience layer, so a failing or open-circuit
dependency gives the model a clean error result instead of failing the turn; a
tool may also update the turn (``escalate_to_human`` sets the route).
"""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig

from graph.nodes.deps import NodeDeps
from state import SupportState

__all__ = ["make_tools"]


def make_tools(deps: NodeDeps) -> Any:
    """The tools node over ``deps`` (the ``ToolNode`` is built with the services)."""

    async def tools(state: SupportState, config: RunnableConfig) -> Any:
        """Run the tool calls of the model's last reply."""
        node = await deps.tool_node()
        return await node.ainvoke(state, config)

    return tools
