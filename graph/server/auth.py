"""The server API's auth (``langgraph.json`` ``"auth"``): who is calling, and what they may see.

Authentication: a bearer JWT verified with PyJWT (``tools.identity.tokens``); the
caller's user id, tenant and role (``customer``, ``agent``, ``admin``) become the
server's user, which the graph reads as its identity (``tools.identity.context``).
Missing, invalid or expired tokens get 401 with the reason. With no key configured
the server refuses to start, unless ``SUPPORT_AUTH_ALLOW_UNAUTHENTICATED=true``
(development only: every caller is then unauthenticated and the run's context
decides, as embedded).

Authorization: every thread is stamped with its tenant and owner when created;
customers see only their own threads, agents and admins their tenant's; nobody
crosses tenants. Assistants are readable by everyone and changed only by admins;
crons and the store are for admins of their tenant. The same handler runs on
``langgraph dev`` (langgraph-api) and Aegra: it takes the request headers by name
or positionally (``str`` or ``bytes`` keys), reads the user by attribute, and seals
the user it returns so the graph can tell it from one a request forged in its
config. Aegra runs this module again on every request: it stays cheap. Where a
server skips these handlers (Aegra 0.6 on ``runs.wait`` and ``runs.stream``), the
graph refuses for itself (``tools.identity``, the ``guard`` and ``handoff`` nodes).
"""

from __future__ import annotations

import asyncio
import hmac
from typing import Any

from langgraph_sdk import Auth

from graph.handover import ResumeError, parse_resume
from state import get_settings
from tools.identity.context import server_caller
from tools.identity.tokens import (
    Caller,
    TokenVerifier,
    acting_seal,
    bearer_token,
    seal,
    seal_key,
)
from tools.resilience.errors import AuthenticationError

__all__ = ["ACTING_FOR", "ACTING_SEAL", "auth"]

auth = Auth()
_settings = get_settings()
_verifier = TokenVerifier.for_settings(_settings)
_OPEN = not _verifier.configured
_SEAL = seal_key(_settings)

if _OPEN and not _settings.auth_allow_unauthenticated:
    raise RuntimeError(
        "support-agent: no token key configured. Set SUPPORT_AUTH_JWT_SECRET (HS256), "
        "SUPPORT_AUTH_JWT_PUBLIC_KEY or SUPPORT_AUTH_JWKS_URL (RS256), or, for local "
        "development only, SUPPORT_AUTH_ALLOW_UNAUTHENTICATED=true."
    )
if not _OPEN and _SEAL is None:
    raise RuntimeError(
        "support-agent: RS256 tokens need SUPPORT_AUTH_SEAL_SECRET, the key that seals the "
        "caller handed to the graph (every worker must share it)."
    )


ACTING_FOR = b"x-support-acting-for"
"""Set by Aegra's HTTP app only: the customer whose thread a staff caller acts on."""
ACTING_SEAL = b"x-support-acting-seal"
"""Its proof (``acting_seal``); the app drops both headers from every client request."""


def _header(headers: Any, name: bytes) -> bytes | str | None:
    """One header from langgraph-api's bytes dict or Aegra's str dict."""
    if not headers:
        return None
    for key, value in dict(headers).items():
        raw = key if isinstance(key, bytes) else str(key).encode("latin-1")
        if raw.lower() == name:
            return value
    return None


@auth.authenticate
async def authenticate(headers: Any = None) -> Auth.types.MinimalUserDict:
    """The caller of a request, from its bearer token (401 with the reason otherwise)."""
    if _OPEN:
        return {"identity": "unauthenticated", "permissions": []}
    try:
        token = bearer_token(_header(headers, b"authorization"))
        # A JWKS lookup may fetch the key set: not on the event loop.
        caller = await asyncio.to_thread(_verifier.verify, token)
    except AuthenticationError as error:
        raise Auth.exceptions.HTTPException(status_code=401, detail=str(error)) from None
    return {
        # Unique across tenants: Aegra scopes threads by identity alone.
        "identity": f"{caller.tenant_id}/{_acting_for(headers, caller) or caller.user_id}",
        "user_id": caller.user_id,
        "tenant_id": caller.tenant_id,
        "role": caller.role,
        "permissions": [caller.role],
        "display_name": caller.user_id,
        "seal": seal(caller, _SEAL or b""),  # _SEAL is set whenever tokens are verified
    }  # type: ignore[typeddict-unknown-key]


def _text(value: bytes | str | None) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else (value or "")


def _acting_for(headers: Any, caller: Caller) -> str | None:
    """The customer a staff caller acts for, when Aegra's HTTP app vouched for it.

    Aegra 0.6 shows a thread only to the identity that created it; the app, having
    checked that the thread belongs to a customer of the caller's tenant, names that
    customer here, so the server scopes the request to their threads. The caller (who
    the graph sees, and what the handlers below allow) stays the staff member.
    """
    owner, proof = _text(_header(headers, ACTING_FOR)), _text(_header(headers, ACTING_SEAL))
    if not owner or not caller.is_staff or _SEAL is None:
        return None
    return owner if hmac.compare_digest(proof, acting_seal(caller, owner, _SEAL)) else None


def _caller(ctx: Auth.types.AuthContext) -> Caller | None:
    return server_caller(ctx.user, _SEAL)


def _forbidden(detail: str) -> Auth.exceptions.HTTPException:
    return Auth.exceptions.HTTPException(status_code=403, detail=detail)


def _stamp(value: Any, caller: Caller) -> None:
    """The thread's tenant and owner are the caller's, whatever metadata was sent."""
    if not isinstance(value, dict):
        return
    metadata = value.get("metadata")
    if not isinstance(metadata, dict):
        metadata = value["metadata"] = {}
    # In place: the server keeps its own reference to this dict.
    metadata.update(tenant_id=caller.tenant_id, owner=caller.user_id)


def _scope(caller: Caller) -> dict[str, Any]:
    """The metadata filter of what ``caller`` may see."""
    if caller.is_staff:
        return {"tenant_id": caller.tenant_id}
    return {"tenant_id": caller.tenant_id, "owner": caller.user_id}


@auth.on.threads.create
async def on_thread_create(ctx: Auth.types.AuthContext, value: Any) -> Any:
    """Stamp the new thread with its tenant and owner (whatever metadata the caller sent)."""
    caller = _caller(ctx)
    if caller is None:
        return None  # unauthenticated development server
    _stamp(value, caller)
    # A create that names an existing thread (if_exists="do_nothing") returns it only if
    # it is in the caller's scope.
    return _scope(caller)


def _check_resume(command: Any) -> None:
    """A human's reply must say something (422 with what is expected, before the graph)."""
    resume = command.get("resume") if isinstance(command, dict) else None
    if resume is None:
        return
    try:
        parse_resume(resume)
    except ResumeError as exc:
        raise Auth.exceptions.HTTPException(status_code=422, detail=f"resume: {exc}") from exc


@auth.on.threads.create_run
async def on_run(ctx: Auth.types.AuthContext, value: Any) -> Any:
    """Runs on the caller's threads; only staff answer a thread that waits for a human.

    Refused here, a customer's ``resume`` never reaches the graph, where its payload
    would stay recorded as the human's reply for the next resume to replay.
    """
    caller = _caller(ctx)
    if caller is None:
        return None
    kwargs = value.get("kwargs") or {} if isinstance(value, dict) else {}
    command = (value.get("command") if isinstance(value, dict) else None) or kwargs.get("command")
    if command and not caller.is_staff:
        # resume (a human's reply), update or goto: what only staff may do to a conversation
        raise _forbidden("only an agent or admin of the tenant can reply to or steer a thread")
    _check_resume(command)
    _stamp(value, caller)  # a run that creates its thread (if_not_exists) stamps it too
    return _scope(caller)


@auth.on.threads
async def on_threads(ctx: Auth.types.AuthContext, value: Any) -> Any:
    """Read, update, delete, search and runs: only the threads in the caller's scope.

    A thread's tenant and owner never change after it is created; customers change only
    their threads' other metadata, never the conversation's state.
    """
    caller = _caller(ctx)
    if caller is None:
        return None
    if ctx.action == "update" and isinstance(value, dict):
        metadata = value.get("metadata")
        if metadata is None and not caller.is_staff:
            raise _forbidden("customers cannot edit a conversation's state")
        if isinstance(metadata, dict):
            metadata.pop("tenant_id", None)
            metadata.pop("owner", None)
    return _scope(caller)


@auth.on.assistants
async def on_assistants(ctx: Auth.types.AuthContext, value: Any) -> Any:
    """Anyone may read the assistants; only admins change them."""
    caller = _caller(ctx)
    if caller is None or ctx.action in ("read", "search") or caller.role == "admin":
        return None
    raise _forbidden("only admins change assistants")


@auth.on.crons
async def on_crons(ctx: Auth.types.AuthContext, value: Any) -> Any:
    """Crons are for admins, within their tenant."""
    caller = _caller(ctx)
    if caller is None:
        return None
    if caller.role != "admin":
        raise _forbidden("only admins manage crons")
    if ctx.action == "create" and isinstance(value, dict):
        metadata = value.get("metadata") or {}
        metadata["tenant_id"] = caller.tenant_id
        value["metadata"] = metadata
        return None
    return {"tenant_id": caller.tenant_id}


@auth.on.store
async def on_store(ctx: Auth.types.AuthContext, value: Any) -> Any:
    """The store (unused by the graph) is for admins, under their tenant's namespace."""
    caller = _caller(ctx)
    if caller is None:
        return None
    namespace = tuple((value or {}).get("namespace") or ()) if isinstance(value, dict) else ()
    if caller.role != "admin" or (namespace and namespace[0] != caller.tenant_id):
        raise _forbidden("the store is for admins, under their tenant's namespace")
    return None
