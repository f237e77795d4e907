"""The LLM answer node driven by a scripted chat model injected through ``Services.model``."""

from __future__ import annotations

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
