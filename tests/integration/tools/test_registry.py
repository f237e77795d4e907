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


def tool_call(name: str, args: dict) -> AIMessage:
    return AIMessage("", tool_calls=[{"name": name, "args": args, "id": "call-1"}])


async def test_memory_tools_act_only_for_the_runs_customer(tmp_path, embeddings):
    services = await create_services(
        Settings(_env_file=None, data_dir=tmp_path / "data"), embeddings=embeddings
    )
    try:
        tools = build_tools(services)
        for name in ("remember_about_customer", "recall_about_customer", "forget_about_customer"):
            schema = next(t for t in tools if t.name == name).tool_call_schema.model_json_schema()
            assert not {"user_id", "tenant_id", "user", "tenant"} & set(schema["properties"])
        builder = StateGraph(MessagesState, context_schema=Context)
        builder.add_node("tools", ToolNode(tools))
        builder.add_edge(START, "tools")
        graph = builder.compile()
        alice, bob = Context(user_id="alice"), Context(user_id="bob")

        saved = await graph.ainvoke(
            {
                "messages": [
                    tool_call(
                        "remember_about_customer",
                        {"fact": "Prefers morning calls", "kind": "preference"},
                    )
                ]
            },
            context=alice,
        )
        assert saved["messages"][-1].content == "added: Prefers morning calls"
        memory_id = (await services.memory.list_memories("default", "alice"))[0]["id"]

        peek = await graph.ainvoke(
            {"messages": [tool_call("recall_about_customer", {"query": "calls"})]}, context=bob
        )
        assert "Nothing remembered" in peek["messages"][-1].content
        steal = await graph.ainvoke(
            {"messages": [tool_call("forget_about_customer", {"memory_id": memory_id})]},
            context=bob,
        )
        assert steal["messages"][-1].content == "no such memory for this customer"
        own = await graph.ainvoke(
            {"messages": [tool_call("recall_about_customer", {"query": "calls"})]}, context=alice
        )
        assert f"[{memory_id}] (preference) Prefers morning calls" in own["messages"][-1].content
    finally:
        await services.aclose()
