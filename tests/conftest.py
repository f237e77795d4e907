"""Shared fixtures: isolated settings, one loaded embedding model, real Postgres, real data.

Postgres, Redis and the shared datasets are required in CI
(``SUPPORT_REQUIRE_POSTGRES=1``, ``SUPPORT_REQUIRE_REDIS=1``, ``SUPPORT_REQUIRE_DATA=1``):
there their absence fails the tests; elsewhere it skips them with the reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_KB = ROOT / "sample_kb"
TEST_DATA = ROOT / "tests" / "data"
POSTGRES_ADMIN_URL = os.environ.get(
    "SUPPORT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _shared_data() -> Path | None:
    candidates = [
        os.environ.get("SUPPORT_SHARED_DATA", ""),
        str(ROOT.parent / "shared" / "data"),
        "/work/shared/data",
    ]
    for candidate in candidates:
        if candidate and (Path(candidate) / "tau2_banking_knowledge").is_dir():
            return Path(candidate)
    return None


def require(condition: bool, reason: str, env: str) -> None:
    """Skip with ``reason``, or fail when ``env`` says the resource is required (CI)."""
    if condition:
        return
    if os.environ.get(env) == "1":
        pytest.fail(f"required in CI but missing: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = _shared_data()
    require(
        path is not None,
        "the shared datasets (../shared/data) are not present",
        "SUPPORT_REQUIRE_DATA",
    )
    assert path is not None
    return path


@pytest.fixture(scope="session")
def embeddings():
    from tools.embeddings.sentence import SentenceEmbeddings

    return SentenceEmbeddings()


@pytest.fixture
def make_settings(tmp_path: Path):
    from state import Settings

    def make(**overrides):
        overrides.setdefault("data_dir", tmp_path / "data")
        return Settings(_env_file=None, **overrides)

    return make


@pytest.fixture(scope="session")
def sample_kb_data(tmp_path_factory: pytest.TempPathFactory, embeddings) -> Path:
    """A data dir with the sample KB ingested once for the session (tenant ``default``)."""
    import asyncio

    from state import Settings
    from tools.services import create_services

    data_dir = tmp_path_factory.mktemp("sample-kb-data")

    async def ingest() -> None:
        services = await create_services(
            Settings(_env_file=None, data_dir=data_dir), embeddings=embeddings
        )
        try:
            report = await services.kb.ingest([SAMPLE_KB], "default")
            assert not report.failed, report.failed
        finally:
            await services.aclose()

    asyncio.run(ingest())
    return data_dir


@pytest.fixture
async def sample_agent(sample_kb_data: Path, embeddings) -> AsyncIterator:
    """An embedded agent over the ingested sample KB, with the SQLite checkpointer."""
    from graph.embedded import open_agent
    from state import Settings
    from tools.services import create_services

    services = await create_services(
        Settings(_env_file=None, data_dir=sample_kb_data), embeddings=embeddings
    )
    try:
        async with open_agent(services=services) as agent:
            yield agent
    finally:
        await services.aclose()


@pytest.fixture(scope="session")
def postgres_server() -> str:
    import psycopg

    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        available = True
    except psycopg.OperationalError:
        available = False
    require(
        available,
        f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}",
        "SUPPORT_REQUIRE_POSTGRES",
    )
    return POSTGRES_ADMIN_URL


@pytest.fixture(scope="session")
def redis_url() -> str:
    import redis

    url = os.environ.get("SUPPORT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        available = bool(redis.from_url(url, socket_connect_timeout=2).ping())
    except redis.RedisError:
        available = False
    require(available, f"Redis is not reachable at {url}", "SUPPORT_REQUIRE_REDIS")
    return url


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty database for one test, dropped afterwards."""
    import psycopg

    name = f"support_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = postgres_server.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(postgres_server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def chroma_server(tmp_path):
    """A real Chroma server on a free port: (url, process); tests may kill the process."""
    import socket
    import subprocess
    import sys
    import time

    import httpx

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
    yield url, process
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture
def fake_openai():
    """A local OpenAI-compatible server for the real ChatOpenAI client."""
    from tests.fake_openai import FakeOpenAI

    server = FakeOpenAI()
    yield server
    server.close()
