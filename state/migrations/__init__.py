"""Alembic migrations of the application tables (run by ``state.db.init_db``)."""
