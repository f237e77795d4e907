"""What the agent remembers: settings, per-run context, graph state, tables, checkpoints."""

from state.attachment_limits import AttachmentLimits
from state.checkpoint import open_checkpointer
from state.context import ANONYMOUS_USER, Context, validate_identifier
from state.db import (
    Attachment,
    Base,
    ForgetRecord,
    KbCollection,
    KbDocument,
    Memory,
    OutboxMessage,
    ThreadOwner,
    Ticket,
    create_engine,
    init_db,
    session_factory,
)
from state.graph_state import (
    KEPT_ACROSS_TURNS,
    Citation,
    Outcome,
    Passage,
    RecalledMemoryState,
    Route,
    SupportInput,
    SupportState,
    citation_of,
    per_turn_defaults,
)
from state.policies import EscalationPolicy, PoliciesSettings, ResiliencePolicy
from state.settings import CheckpointerKind, FusionMode, Settings, get_settings

__all__ = [
    "ANONYMOUS_USER",
    "KEPT_ACROSS_TURNS",
    "Attachment",
    "AttachmentLimits",
    "Base",
    "CheckpointerKind",
    "Citation",
    "Context",
    "EscalationPolicy",
    "ForgetRecord",
    "FusionMode",
    "KbCollection",
    "KbDocument",
    "Memory",
    "OutboxMessage",
    "Outcome",
    "Passage",
    "PoliciesSettings",
    "RecalledMemoryState",
    "ResiliencePolicy",
    "Route",
    "Settings",
    "SupportInput",
    "SupportState",
    "ThreadOwner",
    "Ticket",
    "citation_of",
    "create_engine",
    "get_settings",
    "init_db",
    "open_checkpointer",
    "per_turn_defaults",
    "session_factory",
    "validate_identifier",
]
