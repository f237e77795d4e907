"""Health checks behind ``support-agent doctor``: every dependency, no secret printed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import text
from sqlalchemy.engine import make_url

from graph.model import create_chat_model
from state import Settings, open_checkpointer
from tools.identity.tokens import TokenVerifier, seal_key
from tools.registry import build_tools, tool_health
from tools.services import Services, create_services

__all__ = ["run_checks"]

Check = dict[str, Any]


def _mask(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unparseable URL)"


def safe_error(exc: BaseException) -> str:
    """What went wrong, without a third party's words: their error bodies can echo keys.

    A probe's own ``RuntimeError`` says what to do and is shown; any other error shows
    its type and, for HTTP errors, the status code.

    >>> safe_error(RuntimeError("circuit not closed for: kb"))
    'RuntimeError: circuit not closed for: kb'
    >>> safe_error(ValueError("bad key sk-123 echoed"))
    'ValueError'
    """
    if type(exc) is RuntimeError:
        return f"RuntimeError: {exc}"
    status = getattr(exc, "status_code", None) or getattr(
        getattr(exc, "response", None), "status_code", None
    )
    return f"{type(exc).__name__} (HTTP {status})" if status else type(exc).__name__


def host_of(url: str) -> str:
    """Only scheme and host of a URL: paths and queries of webhooks are credentials.

    >>> host_of("https://hooks.slack.com/services/T000/B000/XXXX")
    'https://hooks.slack.com/…'
    >>> host_of("https://user:pw@example.com:8443/x")
    'https://example.com:8443/…'
    """
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/…"


async def _timed(name: str, probe: Callable[[], Awaitable[str]]) -> Check:
    started = time.perf_counter()
    try:
        detail = await probe()
        ok = True
    except Exception as exc:
        detail, ok = safe_error(exc), False
    return {
        "name": name,
        "ok": ok,
        "detail": detail,
        "ms": round((time.perf_counter() - started) * 1000, 1),
    }


def _server_auth(settings: Settings) -> Check:
    """Which mode the server API's auth handler runs in (never the key itself)."""
    verifier = TokenVerifier.for_settings(settings)
    if settings.auth_jwt_secret:
        detail, ok = "server API: bearer JWTs, HS256 (SUPPORT_AUTH_JWT_SECRET set)", True
    elif verifier.configured:
        how = "a JWKS URL" if settings.auth_jwks_url else "a public key"
        ok = seal_key(settings) is not None
        detail = f"server API: bearer JWTs, RS256 with {how}" + (
            "" if ok else "; SUPPORT_AUTH_SEAL_SECRET missing: the server will not start"
        )
    elif settings.auth_allow_unauthenticated:
        detail, ok = "server API: UNAUTHENTICATED (development only): callers choose", True
    else:
        detail = "server API: no token key, so the server refuses to start (embedded use is fine)"
        ok = True
    claims = f"; claims {settings.auth_user_claim}/{settings.auth_tenant_claim}/"
    return {
        "name": "server auth",
        "ok": ok,
        "detail": detail + (claims + settings.auth_role_claim if verifier.configured else ""),
        "ms": 0.0,
    }


async def run_checks(settings: Settings) -> list[Check]:
    """Run every check; a failing dependency is reported, never raised."""
    mode = f"LLM mode ({settings.llm_model})" if settings.llm_enabled else "LLM-free mode"
    key = "set" if settings.openai_api_key else "unset"
    checks: list[Check] = [
        {
            "name": "configuration",
            "ok": True,
            "detail": f"{mode}; checkpointer={settings.checkpointer}; "
            f"data_dir={settings.data_dir}; OPENAI_API_KEY {key}",
            "ms": 0.0,
        }
    ]
    checks.append(_server_auth(settings))
    services: Services | None = None

    async def start() -> str:
        nonlocal services
        services = await create_services(settings)
        return f"database {_mask(settings.sqlalchemy_url)}"

    checks.append(await _timed("services", start))
    if services is None:
        return checks
    svc: Services = services
    try:

        async def database() -> str:
            async with svc.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return _mask(settings.sqlalchemy_url)

        async def checkpointer() -> str:
            async with open_checkpointer(settings) as saver:
                await saver.aget_tuple({"configurable": {"thread_id": "doctor-probe"}})
            where = (
                _mask(settings.postgres_url.get_secret_value())
                if settings.checkpointer == "postgres" and settings.postgres_url
                else str(settings.checkpoint_path)
            )
            return f"{settings.checkpointer}: {where}"

        async def embeddings() -> str:
            vector = await svc.executor.run(svc.embeddings.embed_query, "doctor probe")
            return f"{svc.embeddings.model_path} ({len(vector)} dimensions)"

        async def knowledge_base() -> str:
            stats = await svc.kb.stats(settings.default_tenant)
            if not stats["documents"]:
                raise RuntimeError(
                    f"tenant {settings.default_tenant!r} has no documents: "
                    "run `support-agent kb ingest PATH`"
                )
            if stats["missing_chunks"]:
                raise RuntimeError(
                    f"{stats['documents']} documents recorded but only {stats['chunks']} of "
                    f"{stats['chunks_recorded']} chunks in the vector store {stats['store']}: "
                    "run `support-agent kb ingest PATH` to embed what is missing"
                )
            return (
                f"{stats['documents']} documents, {stats['chunks']} chunks in {stats['store']}; "
                f"abstain below cosine {stats['calibration'].get('threshold')}"
            )

        async def model() -> str:
            chat = create_chat_model(settings)
            if chat is None:
                return "not configured: answers are extractive (LLM-free mode)"
            reply = await asyncio.wait_for(
                chat.ainvoke("Reply with OK."), settings.policies.model.timeout_s
            )
            endpoint = host_of(settings.openai_base_url) if settings.openai_base_url else "OpenAI"
            return f"{settings.llm_model} at {endpoint}: " + (
                "replied" if reply.text else "empty reply"
            )

        async def breakers() -> str:
            registry = svc.resilience.breakers
            if registry.mirror is None or settings.redis_url is None:
                return "in process (set SUPPORT_REDIS_URL to share them between workers)"
            await registry.mirror.sync_now()
            where = _mask(settings.redis_url.get_secret_value())
            if not registry.mirror.available:
                raise RuntimeError(f"Redis at {where} unreachable: breakers run in process")
            return f"shared through Redis at {where}"

        async def model_tools() -> str:
            tools = build_tools(svc)  # the registry builds (and wraps) every tool
            health = tool_health(svc)
            open_ = [h["tool"] for h in health if h["breaker"] != "closed"]
            if open_:
                raise RuntimeError("circuit not closed for: " + ", ".join(open_))
            return f"{len(tools)} tools, each behind its dependency's breaker: " + ", ".join(
                f"{h['tool']} ({h['dependency']})" for h in health
            )

        async def tickets() -> str:
            pending = await svc.tickets.pending()
            url = settings.escalation_webhook_url
            if not url:
                return f"no helpdesk webhook configured; {pending} ticket(s) kept in the outbox"
            if pending:
                raise RuntimeError(
                    f"{pending} ticket(s) not yet delivered to {host_of(url)}: "
                    "run `support-agent tickets deliver`"
                )
            return f"all tickets delivered to {host_of(url)}"

        async def attachments() -> str:
            limits = settings.attachments
            if not limits.enabled:
                return "turned off (SUPPORT_ATTACHMENTS__ENABLED=false)"
            converter = svc.attachments.converter
            converted = await asyncio.to_thread(converter.convert, b"doctor", "txt")
            if not converted.ok:
                raise RuntimeError(f"isolated conversion failed: {converted.error}")
            return (
                f"isolated conversion works; up to {limits.max_bytes / 1e6:g} MB, "
                f"{limits.timeout_s:g} s and {limits.memory_mb} MiB per file"
            )

        for name, probe in (
            ("database", database),
            ("checkpointer", checkpointer),
            ("embedding model", embeddings),
            ("knowledge base", knowledge_base),
            ("chat model", model),
            ("circuit breakers", breakers),
            ("model tools", model_tools),
            ("tickets", tickets),
            ("attachments", attachments),
        ):
            checks.append(await _timed(name, probe))
    finally:
        await svc.aclose()
    return checks
