"""All tables, for Alembic and the migration-drift check. Imports every context's models."""

from __future__ import annotations

from marketplace import idempotency, outbox
from marketplace.accounts import models as accounts_models
from marketplace.db import Base

metadata = Base.metadata

__all__ = ["accounts_models", "idempotency", "metadata", "outbox"]
