"""report monthly roll-up: the city report's sums per cooperative and local month, kept up
by the database in the transaction that makes a figure count

Revision ID: 0024_report_monthly_rollup
Revises: 0023_city_oversight
Create Date: 2026-12-03 14:30:00

The report summed a year of raw rows on every request (1.3 M order legs for a city: 2.4 s).
These tables hold what it sums, per cooperative and month (the cooperative's local month,
as the report counts it):

* `report_monthly_rollup` — every additive figure, one row per cooperative and month;
* `report_monthly_buyers`, `report_monthly_consignors` — who was served / sold in that
  month, with how many legs / sales, since distinct counts over months and cooperatives
  cannot be added up: the report counts the parties whose count is above zero.

They are kept up by statement-level AFTER triggers on the four sources (order legs,
consignment sales, Bulog purchase orders, trade shipments), in the writer's transaction,
whichever service, worker or repair wrote the row: the old rows of the statement are taken
out (-1) and the new ones put in (+1), so a delivery, a corrected receipt, a cancelled leg
or a moved timestamp lands where the current figures would put it. Each statement adds its
deltas as new rows of `report_monthly_*_pending` (plain inserts: two writers of one
cooperative and month never wait on each other's row, as they would if both updated it);
changes summing to zero write nothing. The worker's `reports.fold_rollup` sums committed
pending rows into the folded rows every few seconds (`report_rollup_fold()`), and the
report reads both, so what it shows never depends on when the fold ran. A cooperative's (or a consignor's, a Bulog branch's) new time zone or city
rebuilds the cooperatives it touches, as the report would then bucket them.

`report_member_counts` holds what each cooperative records of its members, month by month
(no other table knows them: the people who sign in are its staff).

`report_rollup_rebuild(cooperatives)` (NULL: all) replaces their rows from the sources by
set-based INSERT … SELECT; the upgrade back-fills with it. It adds on conflict too, so a
writer racing it neither gets lost nor counted twice.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024_report_monthly_rollup"
down_revision: str | None = "0023_city_oversight"
branch_labels: str | Sequence[str] | None = None
# The triggers sit on the orders', consignment's and procurement's tables.
depends_on: str | Sequence[str] | None = (
    "0010_leg_shipped_quantity",
    "0011_consignment_ranges",
    "0007_procurement",
)

FIGURES = (
    "turnover", "to_kitchens", "to_stalls", "to_government", "to_others",
    "consignment_sales", "consignor_earnings", "consigned_supply", "local_consigned_supply",
    "bulog_purchases", "local_bulog_purchases", "trade_quantity", "trade_amount", "trade_levy",
)  # fmt: skip

# --- what each source adds: `facts` (from its `changes`, each row with its sign) and sums ---


def month_of(column: str) -> str:
    return f"date_trunc('month', ch.{column} AT TIME ZONE s.time_zone)::date"


# A delivered leg counts at what was received (pre-VAT), in the supplier's month of delivery.
LEG_FACTS = f"""
    SELECT ch.supplier_organization_id AS coop, {month_of("delivered_at")} AS month,
           ch.buyer_organization_id AS party, ch.sign,
           ch.sign * coalesce(ch.delivered_quantity, ch.quantity) * ch.unit_price AS value,
           ch.kind, b.kind AS buyer_kind
      FROM changes ch
      JOIN organizations s ON s.id = ch.supplier_organization_id AND s.kind = 'cooperative'
      JOIN organizations b ON b.id = ch.buyer_organization_id
     WHERE ch.status = 'delivered' AND ch.delivered_at IS NOT NULL AND {{scope}}"""
LEG_SUMS = {
    "turnover": "sum(value)",
    "to_kitchens": "sum(value) FILTER (WHERE kind <> 'consignment' AND buyer_kind = 'kitchen')",
    "to_stalls": "sum(value) FILTER (WHERE kind <> 'consignment' AND buyer_kind = 'food_stall')",
    "to_government": "sum(value) FILTER "
    "(WHERE kind <> 'consignment' AND buyer_kind = 'government')",
    "to_others": "sum(value) FILTER (WHERE kind <> 'consignment' "
    "AND buyer_kind NOT IN ('kitchen', 'food_stall', 'government'))",
    "consignment_sales": "sum(value) FILTER (WHERE kind = 'consignment')",
}

# A goods receipt (BAST) of a government purchase order the cooperative won: what was
# received at the order's pre-VAT unit prices, in the month received (`received_on` is
# already the receiving office's date), a sale to government like a delivered leg.
RECEIPT_FACTS = """
    SELECT po.supplier_organization_id AS coop,
           date_trunc('month', ch.received_on)::date AS month,
           po.buyer_organization_id AS party, ch.sign,
           ch.sign * (
               SELECT coalesce(sum((r ->> 'quantity')::bigint * (l ->> 'unit_price')::bigint), 0)
               FROM jsonb_array_elements(ch.lines) r
               JOIN jsonb_array_elements(po.lines) l ON l -> 'line_no' = r -> 'line_no'
           ) AS value
      FROM changes ch
      JOIN sourcing_purchase_orders po ON po.id = ch.purchase_order_id
      JOIN organizations s ON s.id = po.supplier_organization_id AND s.kind = 'cooperative'
     WHERE {scope}"""
RECEIPT_SUMS = {"turnover": "sum(value)", "to_government": "sum(value)"}

# A consignment sale: what the consignor earned (net of commission) in the month it sold,
# and the consigned supply, local when the consignor is of the cooperative's city.
SALE_FACTS = f"""
    SELECT ch.cooperative_id AS coop, {month_of("sold_at")} AS month,
           ch.consignor_id AS party, ch.sign,
           ch.sign * ch.gross_amount AS gross, ch.sign * ch.commission_amount AS commission,
           left(u.region_code, 5) = left(s.region_code, 5) AS local
      FROM changes ch
      JOIN organizations s ON s.id = ch.cooperative_id AND s.kind = 'cooperative'
      JOIN organizations u ON u.id = ch.consignor_id
     WHERE {{scope}}"""
SALE_SUMS = {
    "consignor_earnings": "sum(gross - commission)",
    "consigned_supply": "sum(gross)",
    "local_consigned_supply": "sum(gross) FILTER (WHERE local)",
}

# A closed Bulog lot's purchase order, in the month it was placed.
BULOG_FACTS = f"""
    SELECT ch.cooperative_organization_id AS coop, {month_of("created_at")} AS month,
           ch.sign * ch.total AS total, left(b.region_code, 5) = left(s.region_code, 5) AS local
      FROM changes ch
      JOIN organizations s ON s.id = ch.cooperative_organization_id AND s.kind = 'cooperative'
      JOIN organizations b ON b.id = ch.bulog_organization_id
     WHERE {{scope}}"""
BULOG_SUMS = {
    "bulog_purchases": "sum(total)",
    "local_bulog_purchases": "sum(total) FILTER (WHERE local)",
}

# A trade-contract shipment of the cooperative's allotment and the levy it carried.
TRADE_FACTS = f"""
    SELECT a.supplier_organization_id AS coop, {month_of("created_at")} AS month,
           ch.sign * ch.quantity AS quantity, ch.sign * ch.amount AS amount,
           ch.sign * ch.levy_amount AS levy
      FROM changes ch
      JOIN trade_allotments a ON a.id = ch.allotment_id
      JOIN organizations s ON s.id = a.supplier_organization_id AND s.kind = 'cooperative'
     WHERE {{scope}}"""
TRADE_SUMS = {
    "trade_quantity": "sum(quantity)",
    "trade_amount": "sum(amount)",
    "trade_levy": "sum(levy)",
}


def add_sums(changes: str, facts: str, sums: dict[str, str], scope: str, folded: bool) -> str:
    """Add the changes' sums per (cooperative, month); nothing where they cancel. A writer
    (`folded` false) appends them to the pending rows, so no two writers ever wait on one
    row; the rebuild adds them to the folded rows."""
    names = ", ".join(sums)
    values = ", ".join(f"CAST(coalesce({expr}, 0) AS bigint)" for expr in sums.values())
    nonzero = " OR ".join(f"coalesce({expr}, 0) <> 0" for expr in sums.values())
    added = ", ".join(f"{name} = r.{name} + EXCLUDED.{name}" for name in sums)
    target = "report_monthly_rollup" if folded else "report_monthly_rollup_pending"
    upsert = f"\n    ON CONFLICT (cooperative_id, month) DO UPDATE SET {added}" if folded else ""
    return f"""
    WITH changes AS ({changes}), facts AS ({facts.format(scope=scope)})
    INSERT INTO {target} AS r (cooperative_id, month, {names})
    SELECT coop, month, {values} FROM facts GROUP BY coop, month HAVING {nonzero}
    ORDER BY coop, month{upsert};"""


def add_parties(
    changes: str, facts: str, table: str, party: str, count: str, scope: str, folded: bool
) -> str:
    """Add the changes' rows to their (cooperative, month, party) counts (pending, as sums)."""
    target = table if folded else f"{table}_pending"
    upsert = (
        f"\n    ON CONFLICT (cooperative_id, month, {party}) "
        f"DO UPDATE SET {count} = r.{count} + EXCLUDED.{count}"
        if folded
        else ""
    )
    return f"""
    WITH changes AS ({changes}), facts AS ({facts.format(scope=scope)})
    INSERT INTO {target} AS r (cooperative_id, month, {party}, {count})
    SELECT coop, month, party, sum(sign) FROM facts GROUP BY coop, month, party
    HAVING sum(sign) <> 0 ORDER BY coop, month, party{upsert};"""


class Source:
    def __init__(
        self,
        table: str,
        columns: str,
        facts: str,
        sums: dict[str, str],
        parties: tuple[str, str, str] | None,
        own: str,
        counted: str = "TRUE",
    ) -> None:
        self.table, self.columns, self.facts, self.sums = table, columns, facts, sums
        self.parties = parties  # (table, party column, count column), or none
        self.own = own  # the source's rows of the cooperatives `coops` (by index)
        # Which rows can count at all: a statement with none (an order placed, a leg
        # shipped) returns after one look at its rows.
        self.counted = counted

    def every_row(self) -> str:
        return f"SELECT 1 AS sign, t.* FROM {self.table} t WHERE coops IS NULL OR {self.own}"

    def statements(self, changes: str, scope: str, *, folded: bool = False) -> str:
        found = add_sums(changes, self.facts, self.sums, scope, folded)
        if self.parties is not None:
            table, party, count = self.parties
            found += add_parties(changes, self.facts, table, party, count, scope, folded)
        return found

    def trigger_function(self) -> str:
        """Old rows out, new rows in; of an UPDATE only the rows whose figures' columns
        changed (a leg shipped, a note written: nothing to do)."""
        cols_o = ", ".join(f"o.{c}" for c in self.columns.split(", "))
        cols_n = ", ".join(f"n.{c}" for c in self.columns.split(", "))
        moved = f"ROW({cols_o}) IS DISTINCT FROM ROW({cols_n})"
        updated = (
            f"SELECT -1 AS sign, o.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE {moved}"
            f" UNION ALL SELECT 1 AS sign, n.* FROM new_rows n JOIN old_rows o ON o.id = n.id"
            f" WHERE {moved}"
        )
        in_new = f"EXISTS (SELECT 1 FROM new_rows WHERE {self.counted})"
        in_old = f"EXISTS (SELECT 1 FROM old_rows WHERE {self.counted})"
        return f"""
CREATE FUNCTION report_rollup_{self.table}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF {in_new} THEN
            {self.statements("SELECT 1 AS sign, n.* FROM new_rows n", "TRUE")}
        END IF;
    ELSIF TG_OP = 'UPDATE' THEN
        IF {in_old} OR {in_new} THEN
            {self.statements(updated, "TRUE")}
        END IF;
    ELSIF {in_old} THEN
        {self.statements("SELECT -1 AS sign, o.* FROM old_rows o", "TRUE")}
    END IF;
    RETURN NULL;
END $$"""


SOURCES = (
    Source(
        "order_legs",
        "status, delivered_at, delivered_quantity, quantity, unit_price, kind, "
        "supplier_organization_id, buyer_organization_id",
        LEG_FACTS,
        LEG_SUMS,
        ("report_monthly_buyers", "buyer_id", "legs"),
        "t.supplier_organization_id = ANY(coops)",
        "status = 'delivered'",
    ),
    Source(
        "sourcing_goods_receipts",
        "purchase_order_id, received_on, lines",
        RECEIPT_FACTS,
        RECEIPT_SUMS,
        ("report_monthly_buyers", "buyer_id", "legs"),
        "t.purchase_order_id IN "
        "(SELECT id FROM sourcing_purchase_orders WHERE supplier_organization_id = ANY(coops))",
    ),
    Source(
        "consignment_sales",
        "cooperative_id, consignor_id, sold_at, gross_amount, commission_amount",
        SALE_FACTS,
        SALE_SUMS,
        ("report_monthly_consignors", "consignor_id", "sales"),
        "t.cooperative_id = ANY(coops)",
    ),
    Source(
        "bulog_purchase_orders",
        "cooperative_organization_id, bulog_organization_id, created_at, total",
        BULOG_FACTS,
        BULOG_SUMS,
        None,
        "t.cooperative_organization_id = ANY(coops)",
    ),
    Source(
        "trade_shipments",
        "allotment_id, created_at, quantity, amount, levy_amount",
        TRADE_FACTS,
        TRADE_SUMS,
        None,
        "t.allotment_id IN "
        "(SELECT id FROM trade_allotments WHERE supplier_organization_id = ANY(coops))",
    ),
)

IN_SCOPE = "(coops IS NULL OR s.id = ANY(coops))"
OWN_ROWS = "coops IS NULL OR cooperative_id = ANY(coops)"
REBUILD_FUNCTION = f"""
CREATE FUNCTION report_rollup_rebuild(coops uuid[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM report_monthly_rollup WHERE {OWN_ROWS};
    DELETE FROM report_monthly_buyers WHERE {OWN_ROWS};
    DELETE FROM report_monthly_consignors WHERE {OWN_ROWS};
    DELETE FROM report_monthly_rollup_pending WHERE {OWN_ROWS};
    DELETE FROM report_monthly_buyers_pending WHERE {OWN_ROWS};
    DELETE FROM report_monthly_consignors_pending WHERE {OWN_ROWS};
    {"".join(s.statements(s.every_row(), IN_SCOPE, folded=True) for s in SOURCES)}
END $$"""

# The worker's `reports.fold_rollup` (every few seconds): the pending rows that committed
# writers appended, summed into the folded rows, in key order. A writer still in flight
# keeps its rows (not yet visible to the DELETE) for the next fold; the report reads the
# folded and the pending rows together, so a fold changes no figure.
FOLD_FUNCTION = f"""
CREATE FUNCTION report_rollup_fold() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    folded bigint := 0;
    n bigint;
BEGIN
    WITH taken AS (DELETE FROM report_monthly_rollup_pending RETURNING *),
    summed AS (
        INSERT INTO report_monthly_rollup AS r (cooperative_id, month, {", ".join(FIGURES)})
        SELECT cooperative_id, month, {", ".join(f"sum({f})" for f in FIGURES)}
        FROM taken GROUP BY cooperative_id, month ORDER BY cooperative_id, month
        ON CONFLICT (cooperative_id, month) DO UPDATE SET
            {", ".join(f"{f} = r.{f} + EXCLUDED.{f}" for f in FIGURES)}
        RETURNING 1
    )
    SELECT count(*) INTO n FROM summed;
    folded := folded + n;
    WITH taken AS (DELETE FROM report_monthly_buyers_pending RETURNING *),
    summed AS (
        INSERT INTO report_monthly_buyers AS r (cooperative_id, month, buyer_id, legs)
        SELECT cooperative_id, month, buyer_id, sum(legs) FROM taken
        GROUP BY cooperative_id, month, buyer_id ORDER BY cooperative_id, month, buyer_id
        ON CONFLICT (cooperative_id, month, buyer_id) DO UPDATE SET legs = r.legs + EXCLUDED.legs
        RETURNING 1
    )
    SELECT count(*) INTO n FROM summed;
    folded := folded + n;
    WITH taken AS (DELETE FROM report_monthly_consignors_pending RETURNING *),
    summed AS (
        INSERT INTO report_monthly_consignors AS r (cooperative_id, month, consignor_id, sales)
        SELECT cooperative_id, month, consignor_id, sum(sales) FROM taken
        GROUP BY cooperative_id, month, consignor_id
        ORDER BY cooperative_id, month, consignor_id
        ON CONFLICT (cooperative_id, month, consignor_id)
            DO UPDATE SET sales = r.sales + EXCLUDED.sales
        RETURNING 1
    )
    SELECT count(*) INTO n FROM summed;
    RETURN folded + n;
END $$"""

# Whose figures move when an organization's time zone or city changes: its own (a
# cooperative), and those of the cooperatives it sold at (a consignor) or supplied (Bulog).
MOVED_FUNCTION = """
CREATE FUNCTION report_rollup_organization_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM report_rollup_rebuild(ARRAY(
        SELECT NEW.id
        UNION SELECT cooperative_id FROM consignment_sales WHERE consignor_id = NEW.id
        UNION SELECT cooperative_organization_id FROM bulog_purchase_orders
               WHERE bulog_organization_id = NEW.id
        ORDER BY 1));
    RETURN NULL;
END $$"""


def figure_columns() -> list[sa.Column[int]]:
    return [
        sa.Column(name, sa.BigInteger(), server_default=sa.text("0"), nullable=False)
        for name in FIGURES
    ]


def party_table(table: str, party: str, count: str) -> None:
    op.create_table(
        table,
        sa.Column("cooperative_id", sa.UUID(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column(party, sa.UUID(), nullable=False),
        sa.Column(count, sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cooperative_id"],
            ["organizations.id"],
            name=op.f(f"fk_{table}_cooperative_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("cooperative_id", "month", party, name=op.f(f"pk_{table}")),
    )


def upgrade() -> None:
    op.create_table(
        "report_monthly_rollup",
        sa.Column("cooperative_id", sa.UUID(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        *figure_columns(),
        sa.ForeignKeyConstraint(
            ["cooperative_id"],
            ["organizations.id"],
            name=op.f("fk_report_monthly_rollup_cooperative_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("cooperative_id", "month", name=op.f("pk_report_monthly_rollup")),
    )
    party_table("report_monthly_buyers", "buyer_id", "legs")
    party_table("report_monthly_consignors", "consignor_id", "sales")
    # What writers append (no key: an insert never waits on another writer's row).
    op.create_table(
        "report_monthly_rollup_pending",
        sa.Column("cooperative_id", sa.UUID(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        *figure_columns(),
    )
    for table, party, count in (
        ("report_monthly_buyers_pending", "buyer_id", "legs"),
        ("report_monthly_consignors_pending", "consignor_id", "sales"),
    ):
        op.create_table(
            table,
            sa.Column("cooperative_id", sa.UUID(), nullable=False),
            sa.Column("month", sa.Date(), nullable=False),
            sa.Column(party, sa.UUID(), nullable=False),
            sa.Column(count, sa.BigInteger(), nullable=False),
        )
    op.create_table(
        "report_member_counts",
        sa.Column("cooperative_id", sa.UUID(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("members", sa.BigInteger(), nullable=False),
        sa.Column(
            "recorded_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "members >= 0", name=op.f("ck_report_member_counts_members_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["cooperative_id"],
            ["organizations.id"],
            name=op.f("fk_report_member_counts_cooperative_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("cooperative_id", "month", name=op.f("pk_report_member_counts")),
    )
    op.execute(REBUILD_FUNCTION)
    op.execute(FOLD_FUNCTION)
    for source in SOURCES:
        op.execute(source.trigger_function())
        for event, tables in (
            ("INSERT", "NEW TABLE AS new_rows"),
            ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
            ("DELETE", "OLD TABLE AS old_rows"),
        ):
            op.execute(
                f"CREATE TRIGGER report_rollup_{event.lower()} AFTER {event} ON {source.table} "
                f"REFERENCING {tables} FOR EACH STATEMENT "
                f"EXECUTE FUNCTION report_rollup_{source.table}()"
            )
    op.execute(MOVED_FUNCTION)
    op.execute(
        "CREATE TRIGGER report_rollup_moved AFTER UPDATE OF time_zone, region_code "
        "ON organizations FOR EACH ROW WHEN (OLD.time_zone IS DISTINCT FROM NEW.time_zone "
        "OR left(OLD.region_code, 5) IS DISTINCT FROM left(NEW.region_code, 5)) "
        "EXECUTE FUNCTION report_rollup_organization_moved()"
    )
    # The back-fill: the triggers' locks on the sources hold writers off until commit.
    op.execute("SELECT report_rollup_rebuild(NULL)")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS report_rollup_moved ON organizations")
    op.execute("DROP FUNCTION IF EXISTS report_rollup_organization_moved()")
    for source in SOURCES:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS report_rollup_{event} ON {source.table}")
        op.execute(f"DROP FUNCTION IF EXISTS report_rollup_{source.table}()")
    op.execute("DROP FUNCTION IF EXISTS report_rollup_rebuild(uuid[])")
    op.execute("DROP FUNCTION IF EXISTS report_rollup_fold()")
    op.drop_table("report_monthly_consignors_pending")
    op.drop_table("report_monthly_buyers_pending")
    op.drop_table("report_monthly_rollup_pending")
    op.drop_table("report_member_counts")
    op.drop_table("report_monthly_consignors")
    op.drop_table("report_monthly_buyers")
    op.drop_table("report_monthly_rollup")
