"""Bearer tokens: who is calling the server API, from a JWT verified with PyJWT.

HS256 with a shared secret, or RS256 with a public key or a JWKS URL. The user
id, tenant and role come from configurable claims (``sub``, ``tenant_id``,
``role`` by default). A token that is missing, malformed, badly signed, expired,
for another audience or issuer, or without a user or tenant is refused with a
short reason that says what to fix, never why a signature check failed inside.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any, Literal, cast

import jwt

from state import Settings, validate_identifier
from tools.resilience.errors import AuthenticationError

__all__ = [
    "ROLES",
    "Caller",
    "Role",
    "TokenVerifier",
    "acting_seal",
    "bearer_token",
    "seal",
    "seal_key",
]

Role = Literal["customer", "agent", "admin"]
ROLES: tuple[Role, ...] = ("customer", "agent", "admin")


@dataclass(frozen=True)
class Caller:
    """An authenticated caller of the server API."""

    user_id: str
    tenant_id: str
    role: Role

    @property
    def is_staff(self) -> bool:
        """Agents and admins act for the tenant's customers; customers only for themselves."""
        return self.role != "customer"


def seal_key(settings: Settings) -> bytes | None:
    """The key that seals callers (the seal secret, else the HS256 secret), if any."""
    secret = settings.auth_seal_secret or settings.auth_jwt_secret
    return secret.get_secret_value().encode() if secret else None


def seal(caller: Caller, key: bytes) -> str:
    """An HMAC over the caller: a server user without a valid seal is not trusted.

    Some servers let a run's request carry its own ``langgraph_auth_user`` in
    ``configurable``; the seal is what tells the auth handler's user from a forged one.
    """
    message = f"{caller.user_id}\x00{caller.tenant_id}\x00{caller.role}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def acting_seal(caller: Caller, owner: str, key: bytes) -> str:
    """An HMAC saying that staff ``caller`` acts on a thread of ``owner`` (same tenant).

    Made only by Aegra's HTTP app (``graph.server.aegra_app``) after it checked the
    thread's owner; the auth handler then lets the server scope the request to that
    owner's threads. A client cannot make one without the server's key.
    """
    message = f"act\x00{caller.user_id}\x00{caller.tenant_id}\x00{caller.role}\x00{owner}"
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def bearer_token(authorization: str | bytes | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header, or ``AuthenticationError``."""
    if isinstance(authorization, bytes):
        authorization = authorization.decode("latin-1")
    scheme, _, token = (authorization or "").strip().partition(" ")
    if not authorization:
        raise AuthenticationError("missing bearer token: send 'Authorization: Bearer <JWT>'")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError("malformed Authorization header: use 'Bearer <JWT>'")
    return token.strip()


class TokenVerifier:
    """Verifies callers' JWTs with the configured key and maps their claims."""

    _shared: dict[int, TokenVerifier] = {}  # noqa: RUF012 (a process-wide cache)

    @classmethod
    def for_settings(cls, settings: Settings) -> TokenVerifier:
        """One verifier per settings object, kept for the process.

        Some servers run the auth module again for every request; the JWKS key set
        fetched by the first must not be fetched again by each of them.
        """
        verifier = cls._shared.get(id(settings))
        if verifier is None or verifier.settings is not settings:
            verifier = cls._shared[id(settings)] = cls(settings)
        return verifier

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        secret = settings.auth_jwt_secret
        self._key: Any = secret.get_secret_value() if secret else settings.auth_jwt_public_key
        self._algorithms = ["HS256"] if secret else ["RS256"]
        self._jwks = jwt.PyJWKClient(settings.auth_jwks_url) if settings.auth_jwks_url else None

    @property
    def configured(self) -> bool:
        """Whether any key is configured (otherwise the server must not serve callers)."""
        return bool(self._key or self._jwks)

    def verify(self, token: str) -> Caller:
        """The caller named by a valid ``token``; ``AuthenticationError`` otherwise.

        Blocking when a JWKS URL is set (the key set is fetched, then cached).
        """
        settings = self.settings
        try:
            key = self._jwks.get_signing_key_from_jwt(token).key if self._jwks else self._key
            claims = jwt.decode(
                token,
                key,
                algorithms=self._algorithms,
                audience=settings.auth_jwt_audience,
                issuer=settings.auth_jwt_issuer,
                options={"require": ["exp"], "verify_aud": bool(settings.auth_jwt_audience)},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthenticationError("token expired: sign in again") from exc
        except jwt.PyJWKClientError as exc:
            raise AuthenticationError("token signing key not found") from exc
        except jwt.InvalidTokenError as exc:
            raise AuthenticationError(f"invalid token ({type(exc).__name__})") from exc
        return self._caller(claims)

    def _caller(self, claims: dict[str, Any]) -> Caller:
        settings = self.settings
        user = claims.get(settings.auth_user_claim)
        tenant = claims.get(settings.auth_tenant_claim)
        role = claims.get(settings.auth_role_claim) or "customer"
        if not isinstance(user, str) or not isinstance(tenant, str):
            raise AuthenticationError(
                f"token lacks the {settings.auth_user_claim!r} or "
                f"{settings.auth_tenant_claim!r} claim"
            )
        if role not in ROLES:
            raise AuthenticationError(f"unknown role {role!r}: use customer, agent or admin")
        try:
            validate_identifier(user, "user id")
            validate_identifier(tenant, "tenant id")
        except ValueError as exc:
            raise AuthenticationError(str(exc)) from exc
        return Caller(user, tenant, cast(Role, role))
