"""What the agent remembers: settings, per-run context, graph state, tables, checkpoints."""

from state.checkpoint import open_checkpointer
from state.context import Context, validate_identifier
from state.db import Base, KbCollection, KbDocument, create_engine, init_db, session_factory
from state.graph_state import Citation, Outcome, Passage, SupportState
from state.policies import PoliciesSettings, ResiliencePolicy
from state.settings import CheckpointerKind, FusionMode, Settings, get_settings

__all__ = [
    "Base",
    "CheckpointerKind",
    "Citation",
    "Context",
    "FusionMode",
    "KbCollection",
    "KbDocument",
    "Outcome",
    "Passage",
    "PoliciesSettings",
    "ResiliencePolicy",
    "Settings",
    "SupportState",
    "create_engine",
    "get_settings",
    "init_db",
    "open_checkpointer",
    "session_factory",
    "validate_identifier",
]
