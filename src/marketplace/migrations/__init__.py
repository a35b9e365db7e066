"""Alembic migrations: the only way the schema is made, in tests too."""
