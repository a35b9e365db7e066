"""stock leg postings backfill: the sales of legs delivered before they were posted

Revision ID: 0016_stock_leg_postings_backfill
Revises: 0003_ledger
Create Date: 2026-12-02 20:07:08.162940

Until this revision a delivered leg of a seller's own goods (stock, Bulog lot, trade-contract
call-off) posted nothing, so its seller's turnover and its buyer's purchase were missing
from the books. This posts each such leg once, exactly as `postings.stock_sale` does at
delivery now: reference ``stock_sale:<leg id>``, the buyer's receivable debited with what it
received plus VAT, the seller's payable credited with the goods and its VAT payable with the
VAT. The figures are the leg's own: gross = delivered quantity times unit price, and the VAT is
what the buyer was charged for it — the leg's total less the credit its short delivery got
(``subtotal + vat_amount - credited_amount - gross``) — so the books agree with the order.

One statement, safe to run again or beside the application: a leg whose reference exists
(posted by the application after the fix, or by an earlier run) is skipped, and
``ON CONFLICT (reference) DO NOTHING`` keeps a posting racing this one to one transaction.
Transactions are stamped with the time they are posted (now); the memo names the delivery.
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = "0016_stock_leg_postings_backfill"
down_revision: str | None = "0003_ledger"
branch_labels: str | Sequence[str] | None = None
# It reads order legs, so the orders branch must be there first.
depends_on: str | Sequence[str] | None = "0005_orders"

# Time-ordered ids (UUIDv7, like `marketplace.ids.new_id`) without PostgreSQL 18's uuidv7():
# the millisecond clock, version 7, and the random rest (variant bits kept) of a v4 uuid.
UUID7_FUNCTION = """
CREATE FUNCTION pg_temp.backfill_uuid7() RETURNS uuid LANGUAGE sql VOLATILE AS $$
  SELECT CAST(
    lpad(to_hex(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0')
    || '7' || substr(replace(CAST(gen_random_uuid() AS text), '-', ''), 14)
  AS uuid)
$$
"""

SALES = """
SELECT l.id AS leg_id,
       'stock_sale:' || CAST(l.id AS text) AS reference,
       l.buyer_organization_id AS buyer,
       l.supplier_organization_id AS seller,
       l.delivered_at,
       l.delivered_quantity * l.unit_price AS gross,
       l.subtotal + l.vat_amount - l.credited_amount - l.delivered_quantity * l.unit_price AS vat
  FROM order_legs AS l
 WHERE l.status = 'delivered'
   AND l.kind <> 'consignment'
   AND l.delivered_quantity > 0
   AND NOT EXISTS (
       SELECT 1 FROM ledger_transactions AS t
        WHERE t.reference = 'stock_sale:' || CAST(l.id AS text))
"""

BACKFILL = f"""
WITH sales AS MATERIALIZED (
    SELECT pg_temp.backfill_uuid7() AS transaction_id, s.* FROM ({SALES}) AS s
), posted AS (
    INSERT INTO ledger_transactions (id, reference, kind, memo)
    SELECT transaction_id, reference, 'stock_sale',
           'Back-filled by migration 0016: leg ' || CAST(leg_id AS text) || ' delivered at '
           || to_char(delivered_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
      FROM sales
    ON CONFLICT (reference) DO NOTHING
    RETURNING id, reference
)
INSERT INTO ledger_entries (id, transaction_id, organization_id, purpose, counterparty_id, amount)
SELECT pg_temp.backfill_uuid7(), p.id, e.organization_id, e.purpose, NULL, e.amount
  FROM posted AS p
  JOIN sales AS s ON s.reference = p.reference
 CROSS JOIN LATERAL (
       VALUES (s.buyer, 'buyer_receivable', s.gross + s.vat),
              (s.seller, 'seller_payable', -s.gross),
              (s.seller, 'vat_payable', -s.vat)
       ) AS e(organization_id, purpose, amount)
 WHERE e.amount <> 0
"""


def upgrade() -> None:
    connection = op.get_bind()
    impossible = connection.execute(
        text(f"SELECT leg_id, gross, vat FROM ({SALES}) AS s WHERE s.vat < 0 OR s.gross <= 0")
    ).all()
    if impossible:
        # A leg whose figures contradict each other is a bug to look at, not to post.
        raise RuntimeError(f"legs with impossible delivered figures: {impossible[:10]}")
    op.execute(UUID7_FUNCTION)
    op.execute(BACKFILL)
    op.execute("DROP FUNCTION pg_temp.backfill_uuid7()")


def downgrade() -> None:
    # The books are append-only and these are real sales: nothing to undo. Downgrading
    # past this revision leaves them posted (the application would post the same).
    pass
