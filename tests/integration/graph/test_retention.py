"""Retention: idle conversations go, with their checkpoints, files and ownership rows."""

from __future__ import annotations

import asyncio

import pytest

from graph.embedded import open_agent
from graph.retention import prune_threads
from state import Settings
from tools.services import create_services

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("checkpointer", ["sqlite", "postgres"])
async def test_prune_removes_idle_threads_everywhere_and_keeps_the_rest(
    sample_kb_data, embeddings, tmp_path, request, checkpointer
):
    overrides = {}
    if checkpointer == "postgres":
        overrides = {
            "checkpointer": "postgres",
            "postgres_url": request.getfixturevalue("postgres_url"),
        }
    settings = Settings(_env_file=None, data_dir=sample_kb_data, **overrides)
    services = await create_services(settings, embeddings=embeddings)
    user = f"retention-{checkpointer}"
    note = tmp_path / "note.txt"
    note.write_text("Order LH-1234 arrived damaged.\n")
    try:
        async with open_agent(services=services) as agent:
            idle = await agent.ask("What does my note say?", user_id=user, attachments=[note])
            with_human = await agent.ask("I need to talk to a person, please.", user_id=user)
            assert with_human.outcome == "escalated"
            await asyncio.sleep(5.0)
            recent = await agent.ask("How do I reset my password?", user_id=user)

            dry = await prune_threads(
                services, agent.checkpointer, older_than_days=3.0 / 86400, dry_run=True
            )
            assert dry["pruned"] >= 1 and await agent.history(idle.thread_id)  # nothing deleted
            counts = await prune_threads(services, agent.checkpointer, older_than_days=3.0 / 86400)
            assert counts["pruned"] >= 1 and counts["attachments"] >= 1
            assert counts["kept_with_a_human"] >= 1

            assert await agent.history(idle.thread_id) == []  # checkpoints gone
            assert await services.owners.owner(idle.thread_id) is None  # ownership row gone
            assert idle.thread_id not in await services.owners.threads_of("default", user)
            assert await agent.history(with_human.thread_id)  # a human still has it
            again = await agent.ask(
                "And if I no longer have that email?", thread_id=recent.thread_id, user_id=user
            )
            assert again.outcome in {"answered", "abstained"}
            assert len(await agent.history(recent.thread_id)) == 4  # the kept one continues
    finally:
        await services.aclose()
