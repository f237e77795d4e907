"""Aegra's HTTP app (``aegra.json`` ``"http.app"``): its routes, plus the check it lacks.

Aegra 0.6 scopes ``GET /threads/{id}`` to the thread's creator but does not check
who starts, streams, joins or cancels a run on a thread: another caller's run on a
thread streams its state before the graph can refuse, stores its message in the
thread and ends the thread's wait for a human. Every request under
``/threads/{id}/runs`` therefore first asks Aegra itself, with the caller's own
credentials, whether the caller may see that thread; if not, the request ends
there with Aegra's own answer (404, or 401 without a valid token). Nor does Aegra
call the auth handlers on state updates or on a run's ``command``: a customer's
``POST /threads/{id}/state`` and a customer's run with a ``command`` get 403 here,
as the handlers answer on langgraph-api (``POST .../state/checkpoint`` reads a past
state: it is the caller's, as any read).

Aegra 0.6 also shows a thread only to the identity that created it, so an agent could
not open, read or answer their tenant's escalated threads. For a staff caller's
request on a thread, the app looks up the thread's owner (the graph records it on the
first run) and, when the owner is a customer of the caller's tenant, vouches for it in
two headers (``ACTING_FOR``, sealed with the server's key) that the auth handler turns
into the owner's identity for the server's scoping; the caller the graph and the
handlers see stays the staff member. Clients' own copies of those headers are dropped.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
from typing import Any
from urllib.parse import quote

import httpx
from fastapi import FastAPI

# Imported here so Aegra refuses to start without a token key: it falls back to
# anonymous callers when the auth module fails, but not when the HTTP app does.
import graph.server.auth

# Aegra imports a graph on its first run; importing it with the app warms it at start-up.
import graph.server.served  # noqa: F401
from graph.handover import ResumeError, parse_resume
from graph.server.auth import ACTING_FOR, ACTING_SEAL
from state import create_engine, get_settings, session_factory
from tools.identity.ownership import ThreadOwnership
from tools.identity.tokens import Caller, TokenVerifier, acting_seal, bearer_token, seal_key
from tools.resilience.errors import SupportAgentError

__all__ = ["app"]

logger = logging.getLogger(__name__)

_THREAD = re.compile(r"^/threads/(?P<thread_id>[^/]+)(?:/(?P<what>[^/]+))?(?P<rest>/.*)?\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NOT_A_THREAD = frozenset({"search", "count", "prune"})
"""``/threads/<this>`` alone: an endpoint over many threads, not a thread id (below it,
``/threads/search/runs`` is a thread's: thread ids are the client's to choose)."""
_GUARDED = frozenset({"runs", "state"})
_READS_BODY = frozenset({"runs", "state", "history"})
"""POSTs whose body Aegra may let name another thread than the path's."""


def _thread_id(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return str(body.get("thread_id")) if isinstance(body, dict) else None


async def _reply(send: Any, status: int, error: str, message: str) -> None:
    body = json.dumps({"error": error, "message": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Any) -> bytes:
    chunks, more = [], True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


async def _caller(authorization: str | None) -> Caller | None:
    """The request's caller, or None when its token does not verify (Aegra answers 401)."""
    verifier = TokenVerifier.for_settings(get_settings())
    try:  # a JWKS lookup may fetch the key set: not on the event loop
        return await asyncio.to_thread(verifier.verify, bearer_token(authorization))
    except SupportAgentError:
        return None


@functools.cache
def _ownership() -> ThreadOwnership:
    """Thread owners in the application database (what the graph's guard records)."""
    return ThreadOwnership(session_factory(create_engine(get_settings().sqlalchemy_url)))


async def _owner(thread_id: str) -> tuple[str, str] | None:
    try:
        return await _ownership().owner(thread_id)
    except Exception as exc:  # no owner known: Aegra answers as for anyone else
        logger.warning("thread owner lookup failed: %s", type(exc).__name__)
        return None


async def _acting_headers(caller: Caller, thread_id: str) -> list[tuple[bytes, bytes]]:
    """The headers that let staff reach a thread of their tenant's customer (else none)."""
    key = seal_key(get_settings())
    owner = await _owner(thread_id) if caller.is_staff and key else None
    if key is None or owner is None or owner[0] != caller.tenant_id or owner[1] == caller.user_id:
        return []
    proof = acting_seal(caller, owner[1], key)
    return [(ACTING_FOR, owner[1].encode("latin-1")), (ACTING_SEAL, proof.encode("latin-1"))]


class ThreadRunsGuard:
    """ASGI middleware: the checks Aegra 0.6 does not make on a thread's runs and state.

    A run endpoint answers only callers who can see the thread; a customer may neither
    write a thread's state nor send a run a ``command`` (resume, update, goto). Staff
    reach their tenant's customers' threads (``_acting_headers``).
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def _sees(self, thread_id: str, headers: Any) -> bool:
        """Whether Aegra shows ``thread_id`` to the request's caller (``headers``)."""
        seen = await self._probe(thread_id, headers)
        return seen.status_code == 200 and _thread_id(seen) == thread_id

    async def _probe(self, thread_id: str, headers: Any) -> httpx.Response:
        """Aegra's own answer to ``GET /threads/{thread_id}`` with the request's caller."""
        sent = {
            k.decode("latin-1"): v.decode("latin-1")
            for k, v in headers
            if k.lower() in (b"authorization", ACTING_FOR, ACTING_SEAL)
        }
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://aegra") as client:
            return await client.get("/threads/" + quote(thread_id, safe=""), headers=sent)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope = dict(scope)
        scope["headers"] = [
            (key, value)
            for key, value in scope.get("headers", [])
            if key.lower() not in (ACTING_FOR, ACTING_SEAL)
        ]
        authorizations = [v for k, v in scope["headers"] if k.lower() == b"authorization"]
        if len(authorizations) > 1:
            # This app would check one caller and Aegra authenticate another (it takes the
            # last): a request must name one caller.
            await _reply(send, 400, "bad_request", "send one Authorization header")
            return
        path = scope.get("path", "")
        if _CONTROL.search(path):
            # Starlette's routes end in ``$``, which matches before a final newline: Aegra
            # would serve ``/threads/{id}/state%0A`` as ``/threads/{id}/state``, unchecked.
            await _reply(send, 404, "not_found", "no such path")
            return
        match = _THREAD.match(path)
        if match is None or (match["what"] is None and match["thread_id"] in _NOT_A_THREAD):
            await self.app(scope, receive, send)
            return
        authorization = authorizations[0].decode("latin-1") if authorizations else None
        caller = await _caller(authorization)
        if caller is not None and caller.is_staff:
            acting = await _acting_headers(caller, match["thread_id"])
            # A thread the staff member created (for a customer, with the run's context)
            # is theirs on Aegra, though the graph records the customer as its owner.
            if acting and not await self._sees(match["thread_id"], scope["headers"]):
                scope["headers"] += acting
        body = None
        if scope.get("method") == "POST" and match["what"] in _READS_BODY:
            body = await _read_body(receive)
            if _names_another_thread(body, match["thread_id"]):
                # Aegra lets the body's thread id replace the path's (runs: the config's
                # configurable, history and state: the checkpoint), after checking only
                # the path's thread: any caller with a thread would reach any other.
                await _reply(send, 422, "invalid_thread", "the body names another thread")
                return
            receive = _replay(body, receive)
        if match["what"] not in _GUARDED:
            await self.app(scope, receive, send)
            return
        if body is not None and caller is not None:
            command = _command(body)
            # ``/state`` itself: ``/state/checkpoint`` reads a past state (a POST as well).
            writes_state = match["what"] == "state" and not (match["rest"] or "").strip("/")
            if not caller.is_staff and (writes_state or command):
                await _reply(
                    send,
                    403,
                    "forbidden",
                    "only an agent or admin of the tenant can reply to or steer a thread",
                )
                return
            if isinstance(command, dict) and command.get("resume") is not None:
                try:
                    parse_resume(command["resume"])
                except ResumeError as exc:
                    await _reply(send, 422, "invalid_resume", f"resume: {exc}")
                    return
        if match["what"] == "state":
            await self.app(scope, receive, send)  # Aegra scopes state to the creator
            return
        seen = await self._probe(match["thread_id"], scope["headers"])
        if seen.status_code == 200 and _thread_id(seen) == match["thread_id"]:
            await self.app(scope, receive, send)
            return
        status = seen.status_code if seen.status_code in (401, 403, 404) else 404
        error = "not_found" if status == 404 else "unauthorized"
        await _reply(send, status, error, f"thread {match['thread_id']} not found")


def _command(body: bytes) -> Any:
    """The run request's ``command`` (None when there is none or the body is not JSON)."""
    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        return None
    return payload.get("command") or None if isinstance(payload, dict) else None


def _names_another_thread(body: bytes, thread_id: str) -> bool:
    """Whether a run's, state write's or history read's body names a thread not ``thread_id``.

    Aegra 0.6 keeps ``config.configurable.thread_id`` (and ``context.thread_id``, which it
    copies there) over a run's path, and lets ``checkpoint.thread_id`` replace the path's
    thread in history reads, state writes and runs.
    """
    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        return False  # Aegra answers 422 itself
    if not isinstance(payload, dict):
        return False
    config = payload.get("config")
    configurable = config.get("configurable") if isinstance(config, dict) else None
    named = [
        part.get("thread_id")
        for part in (configurable, payload.get("context"), payload.get("checkpoint"))
        if isinstance(part, dict)
    ]
    return any(value is not None and str(value) != thread_id for value in named)


def _replay(body: bytes, receive: Any) -> Any:
    """A ``receive`` that hands the already-read body to the app, then the client's events.

    After the body it waits on the client's own ``receive``: a streaming response
    listens there for the disconnect, and an immediate one would end every stream.
    """
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return dict(await receive())
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


app = FastAPI(title="support-agent on Aegra")
app.add_middleware(ThreadRunsGuard)
