"""Alembic migrations of the application tables (run by ``state.db.init_db``)."""

VERSION_TABLE = "support_agent_alembic_version"
"""Our own Alembic version table: Aegra (the LangGraph-API server) keeps ``alembic_version``."""

LEGACY_VERSION_TABLE = "alembic_version"
"""Where releases before the own version table recorded our revision."""
