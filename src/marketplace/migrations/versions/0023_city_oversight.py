"""a government office's oversight of the cooperatives of a region, with its targets

Revision ID: 0023_city_oversight
Revises: 0001_foundation
Create Date: 2026-12-03 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023_city_oversight"
down_revision: str | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "report_oversights",
        sa.Column("office_organization_id", sa.UUID(), nullable=False),
        sa.Column("region_prefix", sa.String(length=13), nullable=False),
        sa.Column("turnover_target_bps", sa.BigInteger(), nullable=False),
        sa.Column("members_target_bps", sa.BigInteger(), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "turnover_target_bps >= 0 AND members_target_bps >= 0",
            name=op.f("ck_report_oversights_targets_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["office_organization_id"],
            ["organizations.id"],
            name=op.f("fk_report_oversights_office_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_oversights")),
        sa.UniqueConstraint(
            "office_organization_id",
            name=op.f("uq_report_oversights_office_organization_id"),
        ),
    )


def downgrade() -> None:
    op.drop_table("report_oversights")
