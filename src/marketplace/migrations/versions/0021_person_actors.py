"""who acted: a person signed in to the pages, beside the API key, on every audit column

Revision ID: 0021_person_actors
Revises: 0018_standing_budget, 0008_sourcing, 0009_payments, 0011_consignment_ranges
Create Date: 2026-12-03 11:20:00

Until now a person's actions were recorded under their membership's id in the
`*_api_key_id` columns, which then named no key. Each audit column gets a sibling naming
the person; the key column holds only keys. Rows written by people before this
migration keep the membership id where it was (it still identifies who acted, through
`memberships`), and are moved to the person column here.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_person_actors"
down_revision: str | Sequence[str] | None = (
    "0018_standing_budget",
    "0008_sourcing",
    "0009_payments",
    "0011_consignment_ranges",
)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "0019_accounts_people"

# (table, key column, person column)
ACTOR_COLUMNS = (
    ("orders", "placed_by_api_key_id", "placed_by_person_id"),
    ("standing_orders", "created_by_api_key_id", "created_by_person_id"),
    ("stock_movements", "actor_api_key_id", "actor_person_id"),
    ("payments", "created_by_api_key_id", "created_by_person_id"),
    ("payments", "confirmed_by_api_key_id", "confirmed_by_person_id"),
    ("sourcing_rfqs", "created_by_api_key_id", "created_by_person_id"),
    ("sourcing_quotes", "submitted_by_api_key_id", "submitted_by_person_id"),
    ("sourcing_purchase_orders", "awarded_by_api_key_id", "awarded_by_person_id"),
    ("sourcing_goods_receipts", "recorded_by_api_key_id", "recorded_by_person_id"),
    ("sourcing_payments", "recorded_by_api_key_id", "recorded_by_person_id"),
    ("consignment_adjustments", "created_by", "created_by_person_id"),
)


def upgrade() -> None:
    for table, key_column, person_column in ACTOR_COLUMNS:
        op.add_column(table, sa.Column(person_column, sa.UUID(), nullable=True))
        # A membership id in the key column was a person's act: name the person instead.
        op.execute(
            f"UPDATE {table} AS t SET {person_column} = m.person_id, {key_column} = NULL "
            f"FROM memberships AS m WHERE m.id = t.{key_column}"
        )


def downgrade() -> None:
    for table, _key_column, person_column in ACTOR_COLUMNS:
        op.drop_column(table, person_column)
