"""edit versions of the objects people edit: products, listings, organizations, agreements

Revision ID: 0025_edit_versions
Revises: 0022_listing_search_region
Create Date: 2026-12-03 14:15:00

Each row's `version` is its `ETag` (`marketplace.entity_tags`); every write bumps it, so a
write sent with a stale `If-Match` is refused (412) rather than overwriting. A column with a
constant default is a catalogue change in PostgreSQL 11+: no table rewrite, no long lock.
Depends on 0006 for `consignment_agreements` (the listings' branch does not have it).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025_edit_versions"
down_revision: str | None = "0022_listing_search_region"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "0006_consignment"

TABLES = ("products", "listings", "organizations", "consignment_agreements")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(
            table,
            sa.Column("version", sa.BigInteger(), server_default=sa.text("1"), nullable=False),
        )


def downgrade() -> None:
    for table in TABLES:
        op.drop_column(table, "version")
