"""The customer's threads on a LangGraph server API, deleted with an admin credential.

Used by ``forget`` when ``SUPPORT_SERVER_URL`` is set: the threads a server holds
(its checkpoints and, on Aegra, its run records) are found by the tenant and owner
that the auth handler stamped on them, plus any thread id the project's own
ownership table knows, and deleted through the API, the way a client would.
"""

from __future__ import annotations

from collections.abc import Iterable

from state import Settings
from tools.resilience.errors import DependencyUnavailableError

__all__ = ["delete_server_threads"]

_PAGE = 100


async def delete_server_threads(
    settings: Settings, tenant_id: str, user_id: str, known: Iterable[str] = ()
) -> int:
    """Delete the user's threads on the server; returns how many were deleted.

    Raises ``DependencyUnavailableError`` when the server cannot be reached or refuses
    the admin credential, so the caller keeps what it has not deleted yet.
    """
    import httpx
    from langgraph_sdk import get_client

    token = settings.server_admin_token
    headers = {"Authorization": f"Bearer {token.get_secret_value()}"} if token else None
    client = get_client(url=settings.server_url, headers=headers)
    wanted: set[str] = set(known)
    try:
        offset = 0
        while True:
            page = await client.threads.search(
                metadata={"tenant_id": tenant_id, "owner": user_id}, limit=_PAGE, offset=offset
            )
            wanted.update(str(t["thread_id"]) for t in page)
            if len(page) < _PAGE:
                break
            offset += _PAGE
        deleted = 0
        for thread_id in sorted(wanted):
            try:
                await client.threads.delete(thread_id)
                deleted += 1
            except httpx.HTTPStatusError as exc:
                if exc.response.status_code != 404:  # already gone is fine
                    raise
        return deleted
    except (httpx.HTTPError, OSError) as exc:
        raise DependencyUnavailableError(
            f"the LangGraph server at {settings.server_url} did not delete the threads "
            f"({type(exc).__name__}); nothing of the server was forgotten, try again",
            tool="server",
        ) from exc
    finally:
        await client.http.client.aclose()
