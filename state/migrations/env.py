"""Alembic environment: runs on the connection ``init_db`` hands over (async engines too).

The revision is kept in our own version table (``support_agent_alembic_version``), never in
Alembic's default ``alembic_version``: the LangGraph-API server (Aegra) keeps its own
revision there, and the two would refuse each other's revision in a shared database.
"""

from alembic import context

from state.db import Base
from state.migrations import VERSION_TABLE

config = context.config
if context.is_offline_mode():
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("offline migrations need a database URL (sqlalchemy.url)")
    context.configure(
        url=url,
        target_metadata=Base.metadata,
        render_as_batch=True,
        literal_binds=True,
        version_table=VERSION_TABLE,
    )
else:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through state.db.init_db (it supplies the connection)")
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
        version_table=VERSION_TABLE,
    )
with context.begin_transaction():
    context.run_migrations()
