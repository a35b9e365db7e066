"""stranded lot units: unreserved units on Bulog listings become own stock

Revision ID: 0017_stranded_lot_units
Revises: 0007_procurement
Create Date: 2026-12-02 20:30:00.000000

A Bulog listing stands for "pool into a lot" and is never offered as stock, so units on it
that no leg waits for were never sold again: before this revision, cancelling an order
after its lot was received unreserved its units there and left them. The application now
moves such units to the cooperative's own `stock` listing (`procurement.own_stock`); this
does the same for the units already stranded: for every Bulog listing with more on hand
than reserved, the difference leaves it (an `adjust`) and is received on the cooperative's
own listing of the product (a `receive`), opened at the Bulog listing's prices if it has
none. Both moves are logged with reference ``migration:0017``. Safe to run again: a second
run finds nothing stranded.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017_stranded_lot_units"
down_revision: str | None = "0007_procurement"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UUID7_FUNCTION = """
CREATE FUNCTION pg_temp.stranded_uuid7() RETURNS uuid LANGUAGE sql VOLATILE AS $$
  SELECT CAST(
    lpad(to_hex(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0')
    || '7' || substr(replace(CAST(gen_random_uuid() AS text), '-', ''), 14)
  AS uuid)
$$
"""

# The cooperative's own listing where it has none (the Bulog listing's terms, no stock yet).
OPEN_OWN_LISTINGS = """
INSERT INTO listings (id, seller_organization_id, owner_organization_id, product_id,
                      seller_kind, category, region_code, tiers, base_unit_price,
                      min_order_quantity, on_hand, reserved, supply_mode, status)
SELECT pg_temp.stranded_uuid7(), b.seller_organization_id, b.seller_organization_id,
       b.product_id, b.seller_kind, b.category, b.region_code, b.tiers, b.base_unit_price,
       b.min_order_quantity, 0, 0, 'stock', 'active'
  FROM listings AS b
 WHERE b.supply_mode = 'bulog_lot' AND b.on_hand > b.reserved
   AND NOT EXISTS (
       SELECT 1 FROM listings AS o
        WHERE o.seller_organization_id = b.seller_organization_id
          AND o.owner_organization_id = b.seller_organization_id
          AND o.product_id = b.product_id AND o.supply_mode = 'stock')
ON CONFLICT DO NOTHING
"""

MOVE = """
WITH stranded AS MATERIALIZED (
    SELECT DISTINCT ON (b.id) b.id AS bulog_id, o.id AS own_id, b.on_hand - b.reserved AS free
      FROM listings AS b
      JOIN listings AS o
        ON o.seller_organization_id = b.seller_organization_id
       AND o.owner_organization_id = b.seller_organization_id
       AND o.product_id = b.product_id AND o.supply_mode = 'stock'
     WHERE b.supply_mode = 'bulog_lot' AND b.on_hand > b.reserved
     ORDER BY b.id, o.base_unit_price, o.id  -- the listing the application would pick
), out_of_bulog AS (
    UPDATE listings AS b SET on_hand = b.on_hand - s.free, updated_at = now()
      FROM stranded AS s WHERE b.id = s.bulog_id
    RETURNING b.id, -s.free AS delta, b.on_hand, b.reserved, 'adjust' AS kind,
              'No leg waits for these units: moved to the cooperative''s own stock' AS reason
), into_own AS (
    UPDATE listings AS o SET on_hand = o.on_hand + s.free, updated_at = now()
      FROM stranded AS s WHERE o.id = s.own_id
    RETURNING o.id, s.free AS delta, o.on_hand, o.reserved, 'receive' AS kind,
              'From the Bulog listing, where they were stranded' AS reason
)
INSERT INTO stock_movements (id, listing_id, kind, on_hand_delta, reserved_delta,
                             on_hand_after, reserved_after, reason, reference)
SELECT pg_temp.stranded_uuid7(), m.id, m.kind, m.delta, 0, m.on_hand, m.reserved, m.reason,
       'migration:0017'
  FROM (SELECT * FROM out_of_bulog UNION ALL SELECT * FROM into_own) AS m
"""


def upgrade() -> None:
    op.execute(UUID7_FUNCTION)
    op.execute(OPEN_OWN_LISTINGS)
    op.execute(MOVE)
    op.execute("DROP FUNCTION pg_temp.stranded_uuid7()")


def downgrade() -> None:
    # The units were sold or are on the cooperative's own listing now; putting them back
    # where nobody could buy them helps no one.
    pass
