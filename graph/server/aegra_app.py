"""Aegra's HTTP app (``aegra.json`` ``"http.app"``): its routes, plus the check it lacks.

Aegra 0.6 scopes ``GET /threads/{id}`` to the thread's creator but does not check
who starts, streams, joins or cancels a run on a thread: another caller's run on a
thread streams its state before the graph can refuse, stores its message in the
thread and ends the thread's wait for a human. Every request under
``/threads/{id}/runs`` therefore first asks Aegra itself, with the caller's own
credentials, whether the caller may see that thread; if not, the request ends
there with Aegra's own answer (404, or 401 without a valid token).
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
from fastapi import FastAPI

__all__ = ["app"]

_RUNS = re.compile(r"^/threads/(?P<thread_id>[^/]+)/runs(?:/.*)?$")


class ThreadRunsGuard:
    """ASGI middleware: a run endpoint answers only callers who can see the thread."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        match = _RUNS.match(scope.get("path", "")) if scope["type"] == "http" else None
        if match is None:
            await self.app(scope, receive, send)
            return
        headers = {
            key.decode("latin-1"): value.decode("latin-1")
            for key, value in scope.get("headers", [])
            if key.lower() == b"authorization"
        }
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://aegra") as client:
            seen = await client.get(f"/threads/{match['thread_id']}", headers=headers)
        if seen.status_code == 200:
            await self.app(scope, receive, send)
            return
        status = seen.status_code if seen.status_code in (401, 403, 404) else 404
        body = json.dumps(
            {
                "error": "not_found" if status == 404 else "unauthorized",
                "message": f"thread {match['thread_id']} not found",
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


app = FastAPI(title="support-agent on Aegra")
app.add_middleware(ThreadRunsGuard)
