"""Identity: who a run is for, and who owns each conversation (checked in one place)."""

from tools.identity.context import run_context, thread_of
from tools.identity.ownership import Owner, ThreadOwnership

__all__ = ["Owner", "ThreadOwnership", "run_context", "thread_of"]
