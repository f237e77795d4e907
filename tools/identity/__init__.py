"""Identity: who owns each conversation, recorded and checked in one place."""

from tools.identity.ownership import Owner, ThreadOwnership

__all__ = ["Owner", "ThreadOwnership"]
