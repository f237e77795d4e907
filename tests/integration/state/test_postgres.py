"""The Postgres checkpointer (real server, a fresh database per test)."""

from __future__ import annotations

import pytest

from graph.embedded import open_agent
from state import Settings
from tools.services import create_services

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


async def test_turns_persist_in_postgres_and_continue_after_reopening(
    sample_kb_data, embeddings, postgres_url
):
    settings = Settings(
        _env_file=None, data_dir=sample_kb_data, checkpointer="postgres", postgres_url=postgres_url
    )
    services = await create_services(settings, embeddings=embeddings)
    try:
        async with open_agent(services=services) as agent:
            first = await agent.ask("My Lumora Lock bolt is jammed", user_id="u1")
            assert first.outcome == "answered"
        # A new pool and saver: only what is in Postgres survives.
        async with open_agent(services=services) as agent:
            follow = await agent.ask(
                "What batteries does it take?", thread_id=first.thread_id, user_id="u1"
            )
            assert follow.outcome == "answered"
            assert follow.citations[0]["doc_id"] == (
                "troubleshooting/lock-battery-and-jammed-lock.md"
            )
            history = await agent.history(first.thread_id)
            assert [role for role, _ in history] == ["human", "ai", "human", "ai"]
            assert history[0][1] == "My Lumora Lock bolt is jammed"
    finally:
        await services.aclose()


async def test_postgres_checkpointer_setup_is_idempotent(postgres_url, make_settings):
    from state import open_checkpointer

    settings = make_settings(checkpointer="postgres", postgres_url=postgres_url)
    for _ in range(2):
        async with open_checkpointer(settings) as saver:
            assert await saver.aget_tuple({"configurable": {"thread_id": "none"}}) is None


async def test_application_tables_work_on_postgres(tmp_path, embeddings, postgres_url):
    url = postgres_url.replace("postgresql://", "postgresql+psycopg://", 1)
    services = await create_services(
        Settings(_env_file=None, data_dir=tmp_path / "data", database_url=url),
        embeddings=embeddings,
    )
    try:
        kb_dir = tmp_path / "kb"
        kb_dir.mkdir()
        (kb_dir / "hours.md").write_text("# Opening hours\n\nThe help desk is open 8am to 6pm.")
        report = await services.kb.ingest([kb_dir], "acme")
        assert report.added == ["hours.md"]
        again = await services.kb.ingest([kb_dir], "acme")
        assert again.unchanged == ["hours.md"]
        assert (await services.kb.stats("acme"))["documents"] == 1
    finally:
        await services.aclose()
