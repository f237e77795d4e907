"""The customer's threads on a LangGraph server API, deleted through the API.

Used by ``forget`` when ``SUPPORT_SERVER_URL`` is set: the threads a server holds
(its checkpoints and, on Aegra, its run records, which go with the thread) are
found by the tenant and owner that the auth handler stamped on them, plus any
thread id the project's own ownership table knows, and deleted the way a client
would.
"""

from __future__ import annotations

from collections.abc import Iterable

from state import Settings
from tools.resilience.errors import DependencyUnavailableError

__all__ = ["can_delete_for", "delete_server_threads"]

_PAGE = 100


def can_delete_for(settings: Settings, tenant_id: str) -> bool:
    """Whether the configured credential can delete this tenant's threads on the server."""
    if settings.auth_jwt_secret is not None:
        return True
    admin = settings.server_admin_token
    if admin is None:
        return False
    import jwt

    claims = jwt.decode(admin.get_secret_value(), options={"verify_signature": False})
    return bool(claims.get(settings.auth_tenant_claim) == tenant_id)


def _credentials(settings: Settings, tenant_id: str, user_id: str) -> dict[str, str] | None:
    """Who deletes: the customer themself, else the configured admin token.

    With the HS256 secret, a minute-long token for the customer is signed here: servers
    that scope threads by caller (Aegra) show them to nobody else. Otherwise the admin
    token finds its tenant's threads by owner.
    """
    if settings.auth_jwt_secret is not None:
        import time

        import jwt

        claims = {
            settings.auth_user_claim: user_id,
            settings.auth_tenant_claim: tenant_id,
            settings.auth_role_claim: "customer",
            "exp": int(time.time()) + 60,
        }
        token = jwt.encode(claims, settings.auth_jwt_secret.get_secret_value(), "HS256")
        return {"Authorization": f"Bearer {token}"}
    admin = settings.server_admin_token
    if admin is None:
        return None
    import jwt

    # Read, not verified (the server verifies it): an admin of another tenant would see
    # none of the customer's threads, and the local rows would go while they stay.
    claims = jwt.decode(admin.get_secret_value(), options={"verify_signature": False})
    if claims.get(settings.auth_tenant_claim) != tenant_id:
        raise DependencyUnavailableError(
            f"SUPPORT_SERVER_ADMIN_TOKEN is not an admin token of tenant {tenant_id!r}",
            tool="server",
        )
    return {"Authorization": f"Bearer {admin.get_secret_value()}"}


async def delete_server_threads(
    settings: Settings,
    tenant_id: str,
    user_id: str,
    known: Iterable[str] = (),
    *,
    all_of_theirs: bool = True,
) -> int:
    """Delete the user's threads on the server; returns how many were deleted.

    ``known`` threads are deleted, and with ``all_of_theirs`` (forgetting a customer)
    every thread the server lists for the user too; without it (retention) only
    ``known``. Raises ``DependencyUnavailableError`` when the server cannot be reached
    or refuses the credential, so the caller keeps what it has not deleted yet.
    """
    import httpx
    from langgraph_sdk import get_client

    headers = _credentials(settings, tenant_id, user_id)
    client = get_client(url=settings.server_url, headers=headers)
    wanted: set[str] = set(known)
    try:
        offset = 0
        while all_of_theirs:
            page = await client.threads.search(
                metadata={"tenant_id": tenant_id, "owner": user_id}, limit=_PAGE, offset=offset
            )
            page = [t for t in page if (t.get("metadata") or {}).get("owner") in (user_id, None)]
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
