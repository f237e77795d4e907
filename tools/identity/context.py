"""Who a run is for: the server's authenticated caller, else the run's context.

Under the LangGraph server API the identity comes from the caller the server
authenticated (``runtime.server_info.user``, or ``langgraph_auth_user`` in the
run's configurable), set by ``graph.server.auth`` from a verified JWT. The run's
``context`` may only narrow it: an agent or admin may act for a customer of its
own tenant; anything else that disagrees with the token is an ``IdentityError``.
Embedded runs (CLI, Python API, evaluations) have no server caller, and their
``Context`` is used as it is. Never from anything the model writes; the
``user_id`` some servers copy into ``configurable`` is never read.
"""

from __future__ import annotations

import hmac
from typing import Any

from state import Context, get_settings
from tools.identity.tokens import ROLES, Caller, TokenVerifier, seal, seal_key
from tools.resilience.errors import IdentityError

__all__ = ["caller_of", "identity_of", "run_context", "server_caller", "thread_of"]

_CONTEXT_KEYS = frozenset(Context.__dataclass_fields__)


def thread_of(config: Any) -> str:
    """The thread id of a run's config ("" outside a thread)."""
    return str(((config or {}).get("configurable") or {}).get("thread_id") or "")


def _field(user: Any, name: str) -> Any:
    """A field of a server's user object: attribute or key (Aegra's is not subscriptable)."""
    value = user.get(name) if isinstance(user, dict) else getattr(user, name, None)
    if value is None and not isinstance(user, dict):
        try:
            value = user[name]
        except (KeyError, TypeError, AttributeError):
            value = None
    return value


def server_caller(user: Any, key: bytes | None = None) -> Caller | None:
    """The caller our auth handler authenticated, or None (no server, or not our user).

    A user that claims a tenant and role but whose seal does not verify with ``key``
    (default: from the settings) was not made by our handler: ``IdentityError``.
    """
    if user is None:
        return None
    user_id, tenant, role = (_field(user, k) for k in ("user_id", "tenant_id", "role"))
    if not isinstance(user_id, str) or not isinstance(tenant, str) or role not in ROLES:
        return None  # e.g. Studio's user under `langgraph dev`, or no auth configured
    caller = Caller(user_id, tenant, role)
    key = key if key is not None else seal_key(get_settings())
    given = _field(user, "seal")
    if (
        key is None
        or not isinstance(given, str)
        or not hmac.compare_digest(given, seal(caller, key))
    ):
        raise IdentityError("the run's user was not authenticated by this server's auth handler")
    return caller


_DEFAULTS = Context()


def _requested(value: Any) -> dict[str, Any]:
    """What the run's context asks for; unknown keys are refused (a typo must not pass).

    A server builds a ``Context`` with its defaults when the run sends none: a field at
    its default asks for nothing.
    """
    if isinstance(value, Context):
        return {
            name: getattr(value, name)
            for name in _CONTEXT_KEYS
            if getattr(value, name) != getattr(_DEFAULTS, name)
        }
    if not isinstance(value, dict):
        return {}
    unknown = sorted(set(value) - _CONTEXT_KEYS)
    if unknown:
        raise IdentityError(
            f"unknown context key(s) {', '.join(map(repr, unknown))}: "
            f"use {', '.join(sorted(_CONTEXT_KEYS))}"
        )
    return {k: v for k, v in value.items() if v is not None}


def run_context(value: Any, caller: Caller | None = None) -> Context:
    """The run's ``Context``: the caller's identity, narrowed by what the context asks for."""
    requested = _requested(value)
    if caller is None:
        try:
            return Context(**requested)
        except (TypeError, ValueError) as exc:
            raise IdentityError(f"invalid context: {exc}") from exc
    tenant = requested.get("tenant_id", caller.tenant_id)
    if tenant != caller.tenant_id:
        raise IdentityError(
            f"context tenant_id {tenant!r} is not your token's tenant; leave it out"
        )
    user = requested.get("user_id", caller.user_id)
    if user != caller.user_id and not caller.is_staff:
        raise IdentityError(
            f"context user_id {user!r} is not your token's user; customers act only for "
            "themselves (leave it out)"
        )
    try:
        return Context(
            tenant_id=tenant, user_id=user, abstain_threshold=requested.get("abstain_threshold")
        )
    except ValueError as exc:
        raise IdentityError(f"invalid context: {exc}") from exc


def _user_of(runtime: Any) -> Any:
    info = getattr(runtime, "server_info", None)
    user = getattr(info, "user", None) if info is not None else None
    if user is None:
        config = getattr(runtime, "config", None)
        if config is None:
            from langgraph.config import get_config

            try:
                config = get_config()
            except RuntimeError:  # outside a run
                config = {}
        user = ((config or {}).get("configurable") or {}).get("langgraph_auth_user")
    return user


def _served(runtime: Any) -> bool:
    """Whether the run comes through a LangGraph server API (not the embedded runner)."""
    if getattr(runtime, "server_info", None) is not None:
        return True
    config = getattr(runtime, "config", None)
    if config is None:
        from langgraph.config import get_config

        try:
            config = get_config()
        except RuntimeError:
            return False
    return "langgraph_auth_user" in ((config or {}).get("configurable") or {})


def _unauthenticated_allowed() -> bool:
    """Development without any token key only: with a key, every served run needs a caller."""
    settings = get_settings()
    return (
        settings.auth_allow_unauthenticated and not TokenVerifier.for_settings(settings).configured
    )


def identity_of(runtime: Any) -> Context:
    """The identity of the run behind a node's ``Runtime`` or a tool's ``ToolRuntime``.

    Served without a caller of our auth handler (a server that failed to load it and
    fell back to anonymous, or Studio's own user), the run is refused unless
    ``SUPPORT_AUTH_ALLOW_UNAUTHENTICATED`` allows it for development.
    """
    caller = server_caller(_user_of(runtime))
    if caller is None and _served(runtime) and not _unauthenticated_allowed():
        raise IdentityError(
            "this server has no authenticated caller for the run: serve the graph with the "
            "project's auth handler and a token key (see README, Deploy)"
        )
    return run_context(getattr(runtime, "context", None), caller)


def caller_of(runtime: Any) -> Caller | None:
    """The server's authenticated caller of the run, if any."""
    return server_caller(_user_of(runtime))
