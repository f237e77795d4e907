"""The server's auth module: it refuses to load without a token key (the server must not start)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.servers import ROOT


def _import_auth(**env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORT_")}
    return subprocess.run(
        [sys.executable, "-c", "import graph.server.auth"],
        cwd=ROOT,
        env={**environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_without_a_key_the_auth_module_refuses_to_load():
    refused = _import_auth()
    assert refused.returncode != 0
    assert "no token key configured" in refused.stderr
    assert "SUPPORT_AUTH_ALLOW_UNAUTHENTICATED" in refused.stderr


def test_it_loads_with_a_key_or_when_development_allows_it():
    assert _import_auth(SUPPORT_AUTH_JWT_SECRET="x" * 40).returncode == 0
    assert _import_auth(SUPPORT_AUTH_ALLOW_UNAUTHENTICATED="true").returncode == 0


def test_rs256_needs_a_seal_secret():
    refused = _import_auth(SUPPORT_AUTH_JWKS_URL="https://idp.invalid/jwks.json")
    assert refused.returncode != 0 and "SUPPORT_AUTH_SEAL_SECRET" in refused.stderr
