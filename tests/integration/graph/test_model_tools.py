"""The model's tools are the registry's LangChain tools, run by ToolNode behind resilience."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage

from graph.embedded import open_agent
from state import Settings
from tests.scripted_model import ScriptedChatModel, tool_call
from tools.services import create_services

pytestmark = pytest.mark.integration

RESET = "accounts/reset-your-password.md"


@pytest.fixture
async def services(sample_kb_data, embeddings):
    services = await create_services(
        Settings(_env_file=None, data_dir=sample_kb_data), embeddings=embeddings
    )
    yield services
    await services.aclose()


async def _thread_messages(agent, thread_id):
    state = await agent.graph.aget_state({"configurable": {"thread_id": thread_id}})
    return state.values["messages"]


async def test_the_model_searches_the_knowledge_base_and_cites_the_result(services):
    services.model = ScriptedChatModel.of(
        tool_call("search_knowledge_base", {"query": "forgot password"}),
        AIMessage(f"Tap Forgot password? on the sign-in screen [{RESET}]."),
    )
    async with open_agent(services=services, checkpointer="memory") as agent:
        result = await agent.ask("How do I reset my password?")
        assert result.outcome == "answered" and result.degraded is None
        assert result.answer.startswith("Tap Forgot password? on the sign-in screen [1].")
        assert services.model.offered[0] == [
            "search_knowledge_base",
            "remember_about_customer",
            "recall_about_customer",
            "forget_about_customer",
            "read_attachment",
            "escalate_to_human",
        ]
        [result_message] = [
            m for m in await _thread_messages(agent, result.thread_id) if m.type == "tool"
        ]
        assert result_message.name == "search_knowledge_base"
        assert (
            result_message.artifact["status"] == "ok" and result_message.artifact["attempts"] == 1
        )


async def test_an_open_breaker_gives_the_model_a_clean_error_and_the_turn_still_answers(
    services,
):
    def open_the_kb_breaker() -> AIMessage:
        services.resilience.breakers.get(
            "kb_search", services.resilience.policy("kb_search")
        ).open()
        return tool_call("search_knowledge_base", {"query": "forgot password"})

    services.model = ScriptedChatModel.of(
        open_the_kb_breaker, AIMessage(f"Use Forgot password? on the sign-in screen [{RESET}].")
    )
    async with open_agent(services=services, checkpointer="memory") as agent:
        result = await agent.ask("How do I reset my password?")
        assert result.outcome == "answered"
        assert result.citations[0]["doc_id"] == RESET
        [error] = [m for m in await _thread_messages(agent, result.thread_id) if m.type == "tool"]
        assert error.artifact["status"] == "error"
        assert error.artifact["error_kind"] == "circuit_open"
        assert "unavailable (circuit_open)" in error.content and "Traceback" not in error.content


async def test_the_model_hands_over_with_the_escalation_tool(services):
    services.model = ScriptedChatModel.of(
        tool_call("escalate_to_human", {"reason": "the customer insists on a person"}),
        AIMessage("Summary for the human: wants a person."),
    )
    async with open_agent(services=services, checkpointer="memory") as agent:
        result = await agent.ask("How do I reset my password?")  # anonymous: no extraction
        assert result.outcome == "escalated"
        assert result.escalation["reason"] == "model_proposed"
        tickets = await services.tickets.list("default")
        [ticket] = [t for t in tickets if t["thread_id"] == result.thread_id]
        assert ticket["reasons"] == ["model_proposed"]
        messages = await _thread_messages(agent, result.thread_id)
        assert [m.type for m in messages[-3:]] == ["ai", "tool", "ai"]
        assert messages[-2].name == "escalate_to_human"
        await agent.forget("anonymous")  # the shared sample database as it was


async def test_tool_rounds_are_bounded(services):
    services.model = ScriptedChatModel.of(
        tool_call("search_knowledge_base", {"query": "a"}, "c1"),
        tool_call("search_knowledge_base", {"query": "b"}, "c2"),
        AIMessage(f"Tap Forgot password? [{RESET}]."),
    )
    async with open_agent(services=services, checkpointer="memory") as agent:
        result = await agent.ask("How do I reset my password?")
        assert result.outcome == "answered"
        assert len(services.model.offered) == 2, "the third reply is asked for without tools"
