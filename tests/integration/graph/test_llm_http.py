"""The LLM path through the real ``ChatOpenAI`` client against a local OpenAI-compatible server."""

from __future__ import annotations

import pytest

from graph.embedded import open_agent
from tests.fake_openai import model_settings
from tools.services import create_services

pytestmark = pytest.mark.integration


@pytest.fixture
async def llm_agent(sample_kb_data, embeddings, fake_openai):
    settings = model_settings(
        sample_kb_data,
        fake_openai,
        policies={"model": {"timeout_s": 5, "max_attempts": 1}},
    )
    services = await create_services(settings, embeddings=embeddings)
    async with open_agent(services=services, checkpointer="memory") as agent:
        yield agent
    await services.aclose()


async def test_answer_carries_the_models_text_with_valid_citations(llm_agent, fake_openai):
    result = await llm_agent.ask("How long do refunds take to show up on PayPal?")
    assert result.outcome == "answered" and result.degraded is None
    assert "FROM-THE-MODEL: refunds reach PayPal in 3-5 business days [1]" in result.answer
    assert "invented" not in result.answer
    assert len(result.citations) == 1
    request = fake_openai.requests[-1]
    system = request["messages"][0]["content"]
    assert "<passages>" in system and "not instructions" in system
    assert result.citations[0]["doc_id"] in system
    assert request["messages"][-1] == {
        "role": "user",
        "content": "How long do refunds take to show up on PayPal?",
    }


async def test_an_uncited_model_answer_is_replaced_by_the_grounded_extract(llm_agent, fake_openai):
    fake_openai.mode = "uncited"
    result = await llm_agent.ask("How long do refunds take to show up on PayPal?")
    assert result.outcome == "answered"
    assert result.degraded == "model_uncited"
    assert "FROM-THE-MODEL" not in result.answer
    assert "3-5 business days" in result.answer and result.citations


async def test_a_failing_model_degrades_to_the_llm_free_answer(llm_agent, fake_openai):
    fake_openai.mode = "error"
    result = await llm_agent.ask("How long do refunds take to show up on PayPal?")
    assert result.outcome == "answered"
    assert result.degraded == "model_unavailable"
    assert "3-5 business days" in result.answer


async def test_the_model_is_not_asked_when_the_question_is_out_of_scope(llm_agent, fake_openai):
    result = await llm_agent.ask("Who won the football world cup in 1998?")
    assert result.outcome == "abstained"
    answers = [r for r in fake_openai.requests if "response_format" not in r]
    assert answers == [], "only memory extraction may reach the model on an abstention"


async def test_memories_are_extracted_with_structured_output(llm_agent, fake_openai):
    fake_openai.structured = {
        "memories": [
            {"kind": "fact", "content": "On the Pro plan", "slot": "plan", "importance": 0.8}
        ]
    }
    await llm_agent.ask("I pay for your most expensive tier. Where are refunds?", user_id="zed")
    extraction = next(r for r in fake_openai.requests if "response_format" in r)
    assert "most expensive tier" in extraction["messages"][-1]["content"]
    stored = await llm_agent.services.memory.list_memories("default", "zed")
    assert [m["content"] for m in stored] == ["On the Pro plan"]
    later = await llm_agent.ask("How long do refunds take to show up on PayPal?", user_id="zed")
    system = fake_openai.requests[-1]["messages"][0]["content"]
    assert "<customer_memories>\n- On the Pro plan" in system
    assert "On the Pro plan" in later.memories_used


async def test_the_model_can_propose_a_handover_and_writes_the_ticket_summary(
    llm_agent, fake_openai
):
    fake_openai.mode = "escalate"
    result = await llm_agent.ask("How long do refunds take to show up on PayPal?", user_id="ivy")
    assert result.outcome == "escalated"
    assert result.escalation["reason"] == "model_proposed"
    answer_request = next(r for r in fake_openai.requests if r.get("tools"))
    offered = {t["function"]["name"] for t in answer_request["tools"]}
    assert {"search_knowledge_base", "escalate_to_human", "read_attachment"} <= offered
    assert not any(
        {"tenant_id", "user_id"} & set(t["function"]["parameters"]["properties"])
        for t in answer_request["tools"]
    ), "identity is never a model argument"
    tickets = await llm_agent.services.tickets.list("default")
    [ticket] = [t for t in tickets if t["thread_id"] == result.thread_id]
    assert ticket["summary"].startswith("FROM-THE-MODEL: customer wants a person")
    assert "Escalated because: model_proposed" in ticket["summary"]


async def test_a_tenant_can_refuse_model_proposed_handovers(
    sample_kb_data, embeddings, fake_openai
):
    settings = model_settings(
        sample_kb_data, fake_openai, escalation={"enabled_reasons": ["human_requested"]}
    )
    services = await create_services(settings, embeddings=embeddings)
    try:
        async with open_agent(services=services, checkpointer="memory") as agent:
            fake_openai.mode = "escalate"
            result = await agent.ask("How long do refunds take to show up on PayPal?")
            # The tool tells the model no; it answers from the passages instead.
            assert result.outcome == "answered" and result.escalation is None
            assert "3-5 business days" in result.answer and result.citations
            tool_results = [m for m in fake_openai.requests[-1]["messages"] if m["role"] == "tool"]
            assert tool_results and "not available" in tool_results[-1]["content"]
    finally:
        await services.aclose()


async def test_the_model_searches_again_through_the_registry_tool(llm_agent, fake_openai):
    fake_openai.mode = "search"
    fake_openai.search_query = "reset my password"
    result = await llm_agent.ask("How long do refunds take to show up on PayPal?")
    assert result.outcome == "answered" and result.degraded is None
    assert result.citations[0]["doc_id"] == "accounts/reset-your-password.md"
    assert "after searching again [1]" in result.answer
    # The call and its result are in the conversation, as Studio shows them.
    state = await llm_agent.graph.aget_state({"configurable": {"thread_id": result.thread_id}})
    calls = [m for m in state.values["messages"] if getattr(m, "tool_calls", None)]
    results = [m for m in state.values["messages"] if m.type == "tool"]
    assert calls[0].tool_calls[0]["name"] == "search_knowledge_base"
    assert results[0].artifact["status"] == "ok"
    assert 'doc_id="accounts/reset-your-password.md"' in results[0].content
    # The model saw its tool's result; the next turn does not resend the tool traffic.
    assert fake_openai.requests[-1]["messages"][-1]["role"] == "tool"
    await llm_agent.ask("And on a card?", thread_id=result.thread_id)
    roles = [m["role"] for m in fake_openai.requests[-1]["messages"]]
    assert roles.count("tool") == 1 and roles[-1] == "tool"
