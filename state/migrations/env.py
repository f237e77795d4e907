"""Alembic environment: runs on the connection ``init_db`` hands over (async engines too)."""

from alembic import context

from state.db import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through state.db.init_db (it supplies the connection)")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
