"""The knowledge base against a real Chroma server (``SUPPORT_CHROMA_URL``)."""

from __future__ import annotations

import pytest

from state import Settings
from tests.conftest import SAMPLE_KB
from tools.services import create_services

pytestmark = pytest.mark.integration


async def test_ingest_and_search_through_a_chroma_server(chroma_server, tmp_path, embeddings):
    chroma_url, _ = chroma_server
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", chroma_url=chroma_url)
    services = await create_services(settings, embeddings=embeddings)
    try:
        report = await services.kb.ingest([SAMPLE_KB / "security"], "acme")
        assert len(report.added) == 4 and not report.failed
        result = await services.kb.search(
            "Where do I forward a suspicious phishing email?", "acme", k=3
        )
        assert result.passages[0]["doc_id"] == "reporting-phishing.md"
        assert not (tmp_path / "data" / "chroma").exists(), "embedded store used by mistake"
    finally:
        await services.aclose()
