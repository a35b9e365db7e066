"""standing orders editable, their runs recorded; budget periods never overlap

Revision ID: 0018_standing_budget
Revises: 0010_leg_shipped_quantity
Create Date: 2026-12-03 06:30:00

* `standing_orders.deleted_at` (deleting keeps the row the placed orders name) and
  `updated_at`;
* `standing_order_runs`: what the H-1 job did per standing order and delivery date;
* `budget_periods` refuses two periods of one kitchen whose dates overlap (an exclusion
  constraint): creates that raced before it left identical duplicates, so the later-made
  of two overlapping periods is removed first, its orders moved to the kept period that
  covers their delivery date (none if no kept period does).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_standing_budget"
down_revision: str | None = "0010_leg_shipped_quantity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "standing_orders",
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.add_column(
        "standing_orders", sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_table(
        "standing_order_runs",
        sa.Column("standing_order_id", sa.UUID(), nullable=False),
        sa.Column("delivery_date", sa.Date(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("order_id", sa.UUID(), nullable=True),
        sa.Column("problem_code", sa.String(length=100), nullable=True),
        sa.Column("problem_detail", sa.String(length=1000), nullable=True),
        sa.Column("attempts", sa.BigInteger(), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "outcome IN ('placed', 'failed')", name=op.f("ck_standing_order_runs_outcome_known")
        ),
        sa.CheckConstraint(
            "(outcome = 'placed') = (order_id IS NOT NULL)",
            name=op.f("ck_standing_order_runs_placed_names_its_order"),
        ),
        sa.ForeignKeyConstraint(
            ["standing_order_id"],
            ["standing_orders.id"],
            name=op.f("fk_standing_order_runs_standing_order_id_standing_orders"),
        ),
        sa.PrimaryKeyConstraint(
            "standing_order_id", "delivery_date", name=op.f("pk_standing_order_runs")
        ),
    )

    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.execute(
        """
        DO $$
        DECLARE
            p record;
        BEGIN
            CREATE TEMP TABLE kept_periods (
                id uuid, kitchen uuid, start_date date, end_date date
            ) ON COMMIT DROP;
            FOR p IN SELECT id, kitchen_organization_id AS kitchen, start_date, end_date
                       FROM budget_periods ORDER BY kitchen_organization_id, id
            LOOP
                IF EXISTS (
                    SELECT 1 FROM kept_periods k
                     WHERE k.kitchen = p.kitchen
                       AND daterange(k.start_date, k.end_date, '[]')
                           && daterange(p.start_date, p.end_date, '[]')
                ) THEN
                    UPDATE orders o
                       SET budget_period_id = (
                           SELECT k.id FROM kept_periods k
                            WHERE k.kitchen = p.kitchen
                              AND o.delivery_date BETWEEN k.start_date AND k.end_date
                            LIMIT 1)
                     WHERE o.budget_period_id = p.id;
                    DELETE FROM budget_periods WHERE id = p.id;
                ELSE
                    INSERT INTO kept_periods VALUES (p.id, p.kitchen, p.start_date, p.end_date);
                END IF;
            END LOOP;
            DROP TABLE kept_periods;
        END $$;
        """
    )
    op.execute(
        "ALTER TABLE budget_periods ADD CONSTRAINT ex_budget_periods_no_overlap "
        "EXCLUDE USING gist (kitchen_organization_id WITH =, "
        "daterange(start_date, end_date, '[]') WITH &&)"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE budget_periods DROP CONSTRAINT ex_budget_periods_no_overlap")
    op.drop_table("standing_order_runs")
    op.drop_column("standing_orders", "deleted_at")
    op.drop_column("standing_orders", "updated_at")
