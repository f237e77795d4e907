"""The tool registry: every tool the model may call, behind the resilience layer."""

from __future__ import annotations

from langchain_core.tools import BaseTool

from tools.knowledge_base.tool import create_kb_search_tool
from tools.memory.tools import create_memory_tools
from tools.resilience.layer import with_resilience
from tools.services import Services

__all__ = ["build_tools"]

_POLICY_OF_TOOL = {
    "search_knowledge_base": "kb_search",
    "remember_about_customer": "memory",
    "recall_about_customer": "memory",
    "forget_about_customer": "memory",
}


def build_tools(services: Services) -> list[BaseTool]:
    """The model's tools, each with its dependency's policy and circuit breaker."""
    tools = [
        create_kb_search_tool(services.kb, k=services.settings.retrieval_k),
        *create_memory_tools(services.memory),
    ]
    return [
        with_resilience(t, services.resilience, dependency=_POLICY_OF_TOOL[t.name]) for t in tools
    ]
