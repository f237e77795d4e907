"""The tool registry: every tool the model may call, each behind the resilience layer.

Each tool is built by its capability's factory with the dependencies it needs,
then wrapped by ``with_resilience`` under its dependency's policy and breaker
(tools on one backend share one breaker). Tenant, user and thread reach a tool
from the run (``ToolRuntime``), never from the model's arguments.
"""

from __future__ import annotations

from typing import Any

from langchain_core.tools import BaseTool

from tools.attachments.tool import create_read_attachment_tool
from tools.escalation.tool import create_escalation_tool
from tools.knowledge_base.tool import create_kb_search_tool
from tools.memory.tools import create_memory_tools
from tools.resilience.layer import with_resilience
from tools.services import Services

__all__ = ["DEPENDENCY_OF_TOOL", "build_tools", "tool_health"]

DEPENDENCY_OF_TOOL = {
    "search_knowledge_base": "kb_search",
    "remember_about_customer": "memory",
    "recall_about_customer": "memory",
    "forget_about_customer": "memory",
    "read_attachment": "attachments",
    "escalate_to_human": "escalation",
}
"""The policy and circuit breaker each tool runs under."""


def build_tools(services: Services) -> list[BaseTool]:
    """The model's tools, each with its dependency's policy and circuit breaker."""
    settings = services.settings
    tools = [
        create_kb_search_tool(services.kb, k=settings.retrieval_k),
        *create_memory_tools(services.memory),
        create_read_attachment_tool(services.attachments),
        create_escalation_tool(settings.escalation_policy),
    ]
    return [
        with_resilience(t, services.resilience, dependency=DEPENDENCY_OF_TOOL[t.name])
        for t in tools
    ]


def tool_health(services: Services) -> list[dict[str, Any]]:
    """Each tool, the dependency it runs under and that dependency's breaker state."""
    states = services.resilience.breakers.states()
    return [
        {"tool": name, "dependency": dependency, "breaker": states.get(dependency, "closed")}
        for name, dependency in DEPENDENCY_OF_TOOL.items()
    ]
