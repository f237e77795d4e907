"""A worker that shares the database but not the vector store never serves an empty KB."""

from __future__ import annotations

import pytest

from graph.embedded import open_agent
from graph.health import run_checks
from state import Settings
from tools.services import create_services

pytestmark = pytest.mark.integration


def _settings(data_dir, url: str) -> Settings:
    return Settings(_env_file=None, data_dir=data_dir, database_url=url)


async def test_a_fresh_vector_store_is_detected_reported_and_repaired(
    tmp_path, embeddings, postgres_url
):
    url = postgres_url.replace("postgresql://", "postgresql+psycopg://", 1)
    kb_dir = tmp_path / "kb"
    kb_dir.mkdir()
    (kb_dir / "hours.md").write_text("# Opening hours\n\nThe help desk is open 8am to 6pm.")
    (kb_dir / "refunds.md").write_text("# Refunds\n\nRefunds reach your card in 5 days.")
    first = await create_services(_settings(tmp_path / "worker-a", url), embeddings=embeddings)
    try:
        assert sorted((await first.kb.ingest([kb_dir], "default")).added) == [
            "hours.md",
            "refunds.md",
        ]
    finally:
        await first.aclose()

    # Worker B: same Postgres (manifest says ingested), its own empty Chroma volume.
    second = await create_services(_settings(tmp_path / "worker-b", url), embeddings=embeddings)
    try:
        stats = await second.kb.stats("default")
        assert stats["documents"] == 2 and stats["chunks"] == 0 and stats["missing_chunks"] == 2
        checks = await run_checks(second.settings)  # doctor on worker B's settings
        kb_check = next(c for c in checks if c["name"] == "knowledge base")
        assert kb_check["ok"] is False and "0 of 2 chunks" in kb_check["detail"]

        async with open_agent(services=second, checkpointer="memory") as agent:
            before = await agent.ask("When is the help desk open?")
            assert before.outcome == "abstained" and before.degraded == "kb_missing"
            repaired = await second.kb.ingest([kb_dir], "default")
            assert sorted(repaired.updated) == ["hours.md", "refunds.md"]  # re-embedded
            after = await agent.ask("When is the help desk open?")
            assert after.outcome == "answered" and "8am to 6pm" in after.answer
    finally:
        await second.aclose()
