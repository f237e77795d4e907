"""Per-run identity and overrides, passed as LangGraph ``context``.

Tenant and user always come from here (the caller or the server's auth),
never from anything the model writes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ANONYMOUS_USER = "anonymous"
"""The user id of a run that names no customer: shared by strangers, so never remembered."""

_IDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@:-]{0,127}$")


def validate_identifier(value: str, what: str) -> str:
    """Return ``value`` if it is a safe tenant/user id, else raise ``ValueError``."""
    if not _IDENT.match(value):
        raise ValueError(
            f"invalid {what} {value!r}: use 1-128 letters, digits or _.@:- "
            "starting with a letter or digit"
        )
    return value


@dataclass(frozen=True)
class Context:
    """Who the run is for, and thresholds a run may override."""

    tenant_id: str = "default"
    user_id: str = ANONYMOUS_USER
    abstain_threshold: float | None = None
    """Overrides the knowledge base's calibrated threshold for this run."""

    def __post_init__(self) -> None:
        validate_identifier(self.tenant_id, "tenant_id")
        validate_identifier(self.user_id, "user_id")
