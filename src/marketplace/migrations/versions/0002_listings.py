"""listings

Revision ID: 0002_listings
Revises: 0001_foundation
Create Date: 2026-11-22 10:26:23.251964
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002_listings"
down_revision: str | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


APPEND_ONLY_FUNCTION = """
CREATE FUNCTION refuse_append_only_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$
"""


def upgrade() -> None:
    # Trigram indexes for catalogue search (ships with PostgreSQL's contrib).
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "products",
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("unit_code", sa.String(length=3), nullable=False),
        sa.Column("unit_label", sa.String(length=64), nullable=False),
        sa.Column("net_content", sa.BigInteger(), nullable=False),
        sa.Column("net_content_unit", sa.String(length=3), nullable=False),
        sa.Column("vat_treatment", sa.String(length=16), nullable=False),
        sa.Column("programme", sa.String(length=16), nullable=True),
        sa.Column("bulog_supplied", sa.Boolean(), nullable=False),
        sa.Column("price_caps", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("search_text", sa.String(length=600), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("net_content > 0", name=op.f("ck_products_net_content_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
        sa.UniqueConstraint("sku", name=op.f("uq_products_sku")),
    )
    op.create_index(op.f("ix_products_category"), "products", ["category"], unique=False)
    op.create_index(
        "ix_products_search_text_trgm",
        "products",
        ["search_text"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )
    op.create_table(
        "listings",
        sa.Column("seller_organization_id", sa.UUID(), nullable=False),
        sa.Column("owner_organization_id", sa.UUID(), nullable=False),
        sa.Column("product_id", sa.UUID(), nullable=False),
        sa.Column("seller_kind", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("region_code", sa.String(length=13), nullable=False),
        sa.Column("tiers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("base_unit_price", sa.BigInteger(), nullable=False),
        sa.Column("min_order_quantity", sa.BigInteger(), nullable=False),
        sa.Column("on_hand", sa.BigInteger(), nullable=False),
        sa.Column("reserved", sa.BigInteger(), nullable=False),
        sa.Column("supply_mode", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "supply_mode <> 'stock' OR reserved <= on_hand",
            name=op.f("ck_listings_reserved_within_on_hand"),
        ),
        sa.CheckConstraint("base_unit_price > 0", name=op.f("ck_listings_price_positive")),
        sa.CheckConstraint("min_order_quantity >= 1", name=op.f("ck_listings_moq_positive")),
        sa.CheckConstraint("on_hand >= 0", name=op.f("ck_listings_on_hand_not_negative")),
        sa.CheckConstraint("reserved >= 0", name=op.f("ck_listings_reserved_not_negative")),
        sa.ForeignKeyConstraint(
            ["owner_organization_id"],
            ["organizations.id"],
            name=op.f("fk_listings_owner_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_listings_product_id_products")
        ),
        sa.ForeignKeyConstraint(
            ["seller_organization_id"],
            ["organizations.id"],
            name=op.f("fk_listings_seller_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listings")),
        sa.UniqueConstraint(
            "seller_organization_id",
            "product_id",
            "owner_organization_id",
            "supply_mode",
            name=op.f(
                "uq_listings_seller_organization_id_product_id_owner_organization_id_supply_mode"
            ),
        ),
    )
    op.create_index(
        "ix_listings_active_category_price",
        "listings",
        ["category", "base_unit_price", "id"],
        unique=False,
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_index(
        "ix_listings_active_price",
        "listings",
        ["base_unit_price", "id"],
        unique=False,
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_index(
        "ix_listings_active_product_price",
        "listings",
        ["product_id", "base_unit_price", "id"],
        unique=False,
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_index("ix_listings_owner", "listings", ["owner_organization_id", "id"], unique=False)
    op.create_index(
        "ix_listings_region_code",
        "listings",
        ["region_code"],
        unique=False,
        postgresql_ops={"region_code": "text_pattern_ops"},
    )
    op.create_index(
        "ix_listings_seller", "listings", ["seller_organization_id", "id"], unique=False
    )
    op.create_table(
        "stock_movements",
        sa.Column("listing_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("on_hand_delta", sa.BigInteger(), nullable=False),
        sa.Column("reserved_delta", sa.BigInteger(), nullable=False),
        sa.Column("on_hand_after", sa.BigInteger(), nullable=False),
        sa.Column("reserved_after", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("reference", sa.String(length=100), nullable=True),
        sa.Column("actor_organization_id", sa.UUID(), nullable=True),
        sa.Column("actor_api_key_id", sa.UUID(), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["listing_id"], ["listings.id"], name=op.f("fk_stock_movements_listing_id_listings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_movements")),
    )
    op.create_index(
        "ix_stock_movements_listing", "stock_movements", ["listing_id", "id"], unique=False
    )
    op.execute(APPEND_ONLY_FUNCTION)
    op.execute(
        "CREATE TRIGGER stock_movements_append_only BEFORE UPDATE OR DELETE ON stock_movements "
        "FOR EACH ROW EXECUTE FUNCTION refuse_append_only_change()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS stock_movements_append_only ON stock_movements")
    op.execute("DROP FUNCTION IF EXISTS refuse_append_only_change()")
    op.drop_index("ix_stock_movements_listing", table_name="stock_movements")
    op.drop_table("stock_movements")
    op.drop_index("ix_listings_seller", table_name="listings")
    op.drop_index(
        "ix_listings_region_code",
        table_name="listings",
        postgresql_ops={"region_code": "text_pattern_ops"},
    )
    op.drop_index("ix_listings_owner", table_name="listings")
    op.drop_index(
        "ix_listings_active_product_price",
        table_name="listings",
        postgresql_where=sa.text("status = 'active'"),
    )
    op.drop_index(
        "ix_listings_active_price",
        table_name="listings",
        postgresql_where=sa.text("status = 'active'"),
    )
    op.drop_index(
        "ix_listings_active_category_price",
        table_name="listings",
        postgresql_where=sa.text("status = 'active'"),
    )
    op.drop_table("listings")
    op.drop_index(
        "ix_products_search_text_trgm",
        table_name="products",
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )
    op.drop_index(op.f("ix_products_category"), table_name="products")
    op.drop_table("products")
    # ### end Alembic commands ###
