"""Identity: who a run is for, who is calling the server, who owns each conversation."""

from tools.identity.context import caller_of, identity_of, run_context, server_caller, thread_of
from tools.identity.ownership import Owner, ThreadOwnership
from tools.identity.tokens import ROLES, Caller, Role, TokenVerifier, bearer_token

__all__ = [
    "ROLES",
    "Caller",
    "Owner",
    "Role",
    "ThreadOwnership",
    "TokenVerifier",
    "bearer_token",
    "caller_of",
    "identity_of",
    "run_context",
    "server_caller",
    "thread_of",
]
