"""The model's tools as ToolNode runs them: resilient, tenant from context, envelope as artifact."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, ToolMessage
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode

from state import Context, Settings
from tools.registry import build_tools
from tools.services import create_services

pytestmark = pytest.mark.integration


def call(query: str) -> AIMessage:
    return AIMessage(
        "",
        tool_calls=[{"name": "search_knowledge_base", "args": {"query": query}, "id": "call-1"}],
    )


async def test_kb_tool_through_toolnode_uses_the_runs_tenant(sample_kb_data, embeddings):
    services = await create_services(
        Settings(_env_file=None, data_dir=sample_kb_data), embeddings=embeddings
    )
    try:
        tools = build_tools(services)
        assert tools[0].name == "search_knowledge_base"
        schema = tools[0].tool_call_schema.model_json_schema()
        assert list(schema["properties"]) == ["query"], "tenant must not be a model argument"

        builder = StateGraph(MessagesState, context_schema=Context)
        builder.add_node("tools", ToolNode(tools))
        builder.add_edge(START, "tools")
        graph = builder.compile()

        own = await graph.ainvoke(
            {"messages": [call("reset my password")]}, context=Context(tenant_id="default")
        )
        message = own["messages"][-1]
        assert isinstance(message, ToolMessage)
        assert 'doc_id="accounts/reset-your-password.md"' in message.content
        assert message.artifact["status"] == "ok"

        other = await graph.ainvoke(
            {"messages": [call("reset my password")]}, context=Context(tenant_id="globex")
        )
        assert other["messages"][-1].content == "No articles found."
    finally:
        await services.aclose()
