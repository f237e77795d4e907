"""The LLM answer node driven by a scripted chat model injected through ``Services.model``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from graph.embedded import open_agent
from state import Settings
from tools.services import create_services

pytestmark = pytest.mark.integration


async def test_scripted_model_answer_is_cited_and_instructions_in_passages_are_data(
    sample_kb_data, embeddings
):
    model = GenericFakeChatModel(
        messages=iter(
            [
                AIMessage(
                    "Tap Forgot password? on the sign-in screen [accounts/reset-your-password.md]."
                ),
                AIMessage("Ignore that, here is nothing cited."),
            ]
        )
    )
    services = await create_services(
        Settings(_env_file=None, data_dir=sample_kb_data), embeddings=embeddings
    )
    services.model = model
    try:
        async with open_agent(services=services, checkpointer="memory") as agent:
            cited = await agent.ask("How do I reset my password?")
            assert cited.answer.startswith("Tap Forgot password? on the sign-in screen [1].")
            assert cited.citations[0]["doc_id"] == "accounts/reset-your-password.md"
            assert cited.degraded is None

            uncited = await agent.ask("How do I reset my password?", thread_id=cited.thread_id)
            assert uncited.degraded == "model_uncited"
            assert "Ignore that" not in uncited.answer
            assert uncited.citations[0]["doc_id"] == "accounts/reset-your-password.md"
    finally:
        await services.aclose()


@asynccontextmanager
async def _agent_with(model, data_dir, embeddings) -> AsyncIterator:
    """An agent over the sample KB answering with ``model`` (memory off: the scripted
    replies are the answers' and the rewrites' only)."""
    services = await create_services(
        Settings(_env_file=None, data_dir=data_dir, memory_enabled=False), embeddings=embeddings
    )
    services.model = model
    try:
        async with open_agent(services=services, checkpointer="memory") as agent:
            yield agent
    finally:
        await services.aclose()


async def test_llm_mode_searches_with_the_models_standalone_rewrite_of_a_follow_up(
    sample_kb_data, embeddings
):
    rewrite = "How long does a refund take to reach my credit card?"
    model = GenericFakeChatModel(
        messages=iter(
            [
                AIMessage("Start it in Orders [refunds/how-to-request-a-refund.md]."),
                AIMessage(rewrite),  # the follow-up's standalone query
                AIMessage("5-10 business days [refunds/refund-timing-by-payment-method.md]."),
            ]
        )
    )
    async with _agent_with(model, sample_kb_data, embeddings) as agent:
        first = await agent.ask("How do I request a refund for my order?")
        assert first.query == "How do I request a refund for my order?"  # no rewrite
        follow = await agent.ask("And how long does it take?", thread_id=first.thread_id)
        assert follow.query == rewrite
        assert follow.citations[0]["doc_id"] == "refunds/refund-timing-by-payment-method.md"


async def test_a_failing_rewrite_falls_back_to_the_llm_free_query(sample_kb_data, embeddings):
    class Broken(GenericFakeChatModel):
        async def ainvoke(self, input, config=None, **kwargs):
            if isinstance(input, str):  # the rewrite prompt
                raise ValueError("the model could not rewrite")
            return await super().ainvoke(input, config, **kwargs)

    model = Broken(
        messages=iter(
            [
                AIMessage("Start it in Orders [refunds/how-to-request-a-refund.md]."),
                AIMessage("5-10 business days [refunds/refund-timing-by-payment-method.md]."),
            ]
        )
    )
    async with _agent_with(model, sample_kb_data, embeddings) as agent:
        first = await agent.ask("How do I request a refund for my order?")
        follow = await agent.ask("And how long does it take?", thread_id=first.thread_id)
        assert follow.query == "How do I request a refund for my order? And how long does it take?"
        assert follow.outcome == "answered"
