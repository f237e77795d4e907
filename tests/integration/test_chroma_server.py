"""The knowledge base against a real Chroma server (``SUPPORT_CHROMA_URL``)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from state import Settings
from tests.conftest import SAMPLE_KB
from tools.services import create_services

pytestmark = pytest.mark.integration


@pytest.fixture
def chroma_url(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("chroma")),
            "run",
            "--path",
            str(tmp_path / "srv"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(60):
        try:
            if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    else:
        process.kill()
        pytest.fail("chroma server did not start")
    yield url
    process.terminate()
    process.wait(timeout=20)


async def test_ingest_and_search_through_a_chroma_server(chroma_url, tmp_path, embeddings):
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
