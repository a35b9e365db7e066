"""an index for text searches within a region: a product's active listings by region code

Revision ID: 0022_listing_search_region
Revises: 0002_listings
Create Date: 2026-12-03 11:45:00

Built CONCURRENTLY (outside the migration's transaction), so a catalogue of millions of
listings keeps taking orders while it builds.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022_listing_search_region"
down_revision: str | None = "0002_listings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_listings_active_product_region",
            "listings",
            ["product_id", "region_code", "base_unit_price", "id"],
            unique=False,
            postgresql_where=sa.text("status = 'active'"),
            postgresql_ops={"region_code": "text_pattern_ops"},
            postgresql_concurrently=True,
            if_not_exists=True,
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(
            "ix_listings_active_product_region",
            table_name="listings",
            postgresql_concurrently=True,
            if_exists=True,
        )
