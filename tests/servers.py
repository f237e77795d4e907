"""The graph served by a real LangGraph-API server, for tests: ``langgraph dev`` or Aegra.

Both serve ``langgraph.json`` (graph and auth handler) from the repository, with
the auth handler's HS256 secret; tests call them with langgraph-sdk and tokens
signed here, as a deployment's clients would.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
import jwt

ROOT = Path(__file__).resolve().parents[1]
SECRET = "server-tests-hs256-secret-of-enough-length"
SERVERS = ("langgraph-dev", "aegra")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def token(user: str, tenant: str = "default", role: str = "customer", **claims: Any) -> str:
    """A JWT as the deployment's identity provider would sign it."""
    body = {"sub": user, "tenant_id": tenant, "role": role, "exp": time.time() + 600, **claims}
    return jwt.encode(body, SECRET, algorithm="HS256")


@dataclass
class Server:
    kind: str
    url: str
    log: IO[str]
    database_url: str | None = None

    def client(self, bearer: str | None = None, headers: dict[str, str] | None = None) -> Any:
        from langgraph_sdk import get_client

        sent = {**(headers or {}), **({"Authorization": f"Bearer {bearer}"} if bearer else {})}
        return get_client(url=self.url, headers=sent or None)

    def read_log(self) -> str:
        self.log.seek(0)
        return self.log.read()


def _command(kind: str, port: int) -> list[str]:
    bin_dir = Path(sys.executable).parent
    if kind == "langgraph-dev":
        return [
            str(bin_dir / "langgraph"),
            "dev",
            "--no-browser",
            "--no-reload",
            "--port",
            str(port),
            "--config",
            str(ROOT / "langgraph.json"),
        ]
    return [
        str(bin_dir / "uvicorn"),
        "aegra_api.main:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]


@contextmanager
def serve(
    kind: str, data_dir: Path, log_path: Path, *, database_url: str | None = None, **env: str
) -> Iterator[Server]:
    """Start ``kind`` on a free port and stop it afterwards (its log is kept for asserts)."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SUPPORT_", "OPENAI_"))}
    environ.update(
        SUPPORT_DATA_DIR=str(data_dir),
        SUPPORT_AUTH_JWT_SECRET=SECRET,
        LANGSMITH_TRACING="false",
        LANGCHAIN_TRACING_V2="false",
        **env,
    )
    if kind == "aegra":
        assert database_url, "Aegra needs a Postgres database"
        environ.update(
            AEGRA_CONFIG=env.get("AEGRA_CONFIG", str(ROOT / "aegra.json")),
            DATABASE_URL=database_url,
            # the project's tables share the server's database
            SUPPORT_DATABASE_URL=database_url.replace("postgresql://", "postgresql+psycopg://"),
            HOST="127.0.0.1",
            PORT=str(port),
        )
    log = log_path.open("w+")
    if kind == "aegra":  # the knowledge base's manifest lives in the server's database
        subprocess.run(
            [
                str(Path(sys.executable).with_name("support-agent")),
                "kb",
                "ingest",
                str(ROOT / "sample_kb"),
            ],
            cwd=ROOT,
            env=environ,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=True,
            timeout=600,
        )
    process = subprocess.Popen(
        _command(kind, port),
        cwd=ROOT,
        env=environ,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    started = False
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if (
                httpx.get(
                    f"{url}/ok" if kind == "langgraph-dev" else f"{url}/health", timeout=2
                ).status_code
                == 200
            ):
                started = True
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    try:
        if not started:
            log.seek(0)
            raise RuntimeError(f"{kind} did not start:\n{log.read()[-4000:]}")
        yield Server(kind, url, log, database_url)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextmanager
def serve_fresh(
    kind: str, sample_kb_data: Path, tmp_root: Path, postgres_server: str, **env: str
) -> Iterator[Server]:
    """``kind`` on a copy of the sample KB's data (Aegra: on a new database, dropped after)."""
    import shutil
    import uuid

    import psycopg

    data_dir = tmp_root / f"{kind}-data"
    shutil.copytree(sample_kb_data, data_dir)
    database_url = None
    name = f"support_aegra_{uuid.uuid4().hex[:10]}"
    if kind == "aegra":
        with psycopg.connect(postgres_server, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        database_url = f"{postgres_server.rpartition('/')[0]}/{name}"
    try:
        with serve(
            kind, data_dir, tmp_root / f"{kind}.log", database_url=database_url, **env
        ) as running:
            running.data_dir = data_dir  # type: ignore[attr-defined]
            yield running
    finally:
        if database_url:
            with psycopg.connect(postgres_server, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
