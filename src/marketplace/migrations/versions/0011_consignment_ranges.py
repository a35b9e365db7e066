"""consignment: settlement by ranges of record numbers, adjustments

A statement no longer stamps its id on every sale and return it settles (one row
rewritten per sale): sales, returns and the new adjustments take a number from one
sequence, and a statement covers the range ``(from_seq, to_seq]`` of its consignor's
records. Exactly-once moves to the statements: an exclusion constraint (btree_gist) on
overlapping ranges of one (cooperative, consignor), a unique start per pair and a trigger
requiring each statement to start where the pair's previous one ended; records and
statements become append-only. Existing rows are numbered in settlement order (by
statement, then time), so every existing statement keeps exactly its rows.

Revision ID: 0011_consignment_ranges
Revises: 0006_consignment
Create Date: 2026-11-22 12:34:52.588108
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_consignment_ranges"
down_revision: str | None = "0006_consignment"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEXT_SEQ = sa.text("nextval('consignment_record_seq')")


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.execute("CREATE SEQUENCE consignment_record_seq AS bigint")
    for table in ("consignment_sales", "consignment_returns"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_settled_is_final ON {table}")
    op.execute("DROP FUNCTION IF EXISTS consignment_settled_is_final()")

    # --- number the existing records in settlement order ---------------------------
    op.add_column("consignment_sales", sa.Column("seq", sa.BigInteger(), nullable=True))
    op.add_column("consignment_returns", sa.Column("seq", sa.BigInteger(), nullable=True))
    op.add_column("consignment_statements", sa.Column("from_seq", sa.BigInteger(), nullable=True))
    op.add_column("consignment_statements", sa.Column("to_seq", sa.BigInteger(), nullable=True))
    op.execute(
        """
        CREATE TEMPORARY TABLE consignment_numbering ON COMMIT DROP AS
        SELECT kind, id, statement_id,
               row_number() OVER (ORDER BY statement_id IS NULL, statement_id, at, id) AS n
          FROM (SELECT 's' AS kind, id, statement_id, sold_at AS at FROM consignment_sales
                UNION ALL
                SELECT 'r', id, statement_id, returned_at FROM consignment_returns) AS records
        """
    )
    op.execute(
        "UPDATE consignment_sales s SET seq = n.n FROM consignment_numbering n "
        "WHERE n.kind = 's' AND n.id = s.id"
    )
    op.execute(
        "UPDATE consignment_returns r SET seq = n.n FROM consignment_numbering n "
        "WHERE n.kind = 'r' AND n.id = r.id"
    )
    op.execute(
        """
        UPDATE consignment_statements st SET to_seq = x.last
          FROM (SELECT statement_id, max(n) AS last FROM consignment_numbering
                 WHERE statement_id IS NOT NULL GROUP BY statement_id) AS x
         WHERE x.statement_id = st.id
        """
    )
    op.execute(
        """
        DO $$ BEGIN
            IF EXISTS (SELECT 1 FROM consignment_statements WHERE to_seq IS NULL) THEN
                RAISE EXCEPTION 'a consignment statement settles no sale or return';
            END IF;
        END $$
        """
    )
    op.execute(
        """
        UPDATE consignment_statements st SET from_seq = COALESCE(p.previous, 0)
          FROM (SELECT id, lag(to_seq) OVER (PARTITION BY cooperative_id, consignor_id
                                             ORDER BY id) AS previous
                  FROM consignment_statements) AS p
         WHERE p.id = st.id
        """
    )
    op.execute(
        "SELECT setval('consignment_record_seq', max(n)) FROM consignment_numbering "
        "HAVING count(*) > 0"
    )
    for table in ("consignment_sales", "consignment_returns"):
        op.alter_column(table, "seq", server_default=NEXT_SEQ, nullable=False)
    op.alter_column("consignment_statements", "from_seq", nullable=False)
    op.alter_column("consignment_statements", "to_seq", nullable=False)

    # --- the statement_id stamps go ------------------------------------------------
    op.drop_index("ix_consignment_returns_statement", table_name="consignment_returns")
    op.drop_index(
        "ix_consignment_returns_unsettled",
        table_name="consignment_returns",
        postgresql_where="(statement_id IS NULL)",
    )
    op.drop_constraint(
        "fk_consignment_returns_statement_id_consignment_statements",
        "consignment_returns",
        type_="foreignkey",
    )
    op.drop_column("consignment_returns", "statement_id")
    op.drop_index("ix_consignment_sales_statement", table_name="consignment_sales")
    op.drop_index(
        "ix_consignment_sales_unsettled",
        table_name="consignment_sales",
        postgresql_where="(statement_id IS NULL)",
    )
    op.drop_constraint(
        "fk_consignment_sales_statement_id_consignment_statements",
        "consignment_sales",
        type_="foreignkey",
    )
    op.drop_column("consignment_sales", "statement_id")

    # --- range indexes: a statement's totals are index-only range scans --------------
    op.create_index(
        "ix_consignment_returns_range",
        "consignment_returns",
        ["cooperative_id", "consignor_id", "seq"],
        unique=False,
        postgresql_include=["quantity", "returned_at"],
    )
    op.create_index(
        "ix_consignment_sales_range",
        "consignment_sales",
        ["cooperative_id", "consignor_id", "seq"],
        unique=False,
        postgresql_include=["gross_amount", "commission_amount"],
    )
    op.create_index(
        "ix_consignment_sales_sold_at",
        "consignment_sales",
        ["cooperative_id", "consignor_id", "sold_at"],
        unique=False,
        postgresql_include=["seq"],
    )

    # --- adjustments ----------------------------------------------------------------
    op.create_table(
        "consignment_adjustments",
        sa.Column("agreement_id", sa.UUID(), nullable=False),
        sa.Column("cooperative_id", sa.UUID(), nullable=False),
        sa.Column("consignor_id", sa.UUID(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("seq", sa.BigInteger(), server_default=NEXT_SEQ, nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("amount <> 0", name=op.f("ck_consignment_adjustments_amount_not_zero")),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["consignment_agreements.id"],
            name=op.f("fk_consignment_adjustments_agreement_id_consignment_agreements"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consignment_adjustments")),
    )
    op.create_index(
        "ix_consignment_adjustments_consignor",
        "consignment_adjustments",
        ["consignor_id", "id"],
        unique=False,
    )
    op.create_index(
        "ix_consignment_adjustments_cooperative",
        "consignment_adjustments",
        ["cooperative_id", "id"],
        unique=False,
    )
    op.create_index(
        "ix_consignment_adjustments_range",
        "consignment_adjustments",
        ["cooperative_id", "consignor_id", "seq"],
        unique=False,
        postgresql_include=["amount", "created_at"],
    )

    # --- exactly once: the statements' ranges ----------------------------------------
    op.create_check_constraint(
        op.f("ck_consignment_statements_range_not_empty"),
        "consignment_statements",
        "from_seq >= 0 AND to_seq > from_seq",
    )
    op.create_unique_constraint(
        "uq_consignment_statements_chain",
        "consignment_statements",
        ["cooperative_id", "consignor_id", "from_seq"],
    )
    op.create_unique_constraint(
        "uq_consignment_statements_head",
        "consignment_statements",
        ["cooperative_id", "consignor_id", "to_seq"],
    )
    # No record in two statements: one pair's ranges never overlap.
    op.execute(
        "ALTER TABLE consignment_statements ADD CONSTRAINT ex_consignment_statements_no_overlap "
        "EXCLUDE USING gist (cooperative_id WITH =, consignor_id WITH =, "
        "int8range(from_seq, to_seq, '(]') WITH &&)"
    )
    # No record skipped: a statement starts where the pair's previous one ended. Checked
    # once per INSERT over all its new rows (a run writes 1,000 statements in one). Two
    # concurrent statements starting at the same point both pass before either commits;
    # `uq_consignment_statements_chain` refuses the second.
    op.execute(
        """
        CREATE FUNCTION consignment_statements_follow_chain() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE
            broken record;
        BEGIN
            SELECT n.id, n.from_seq, COALESCE(p.head, 0) AS head INTO broken
              FROM new_statements n
              CROSS JOIN LATERAL (
                   SELECT max(s.to_seq) AS head FROM consignment_statements s
                    WHERE s.cooperative_id = n.cooperative_id
                      AND s.consignor_id = n.consignor_id AND s.to_seq < n.to_seq) p
             WHERE n.from_seq <> COALESCE(p.head, 0)
             LIMIT 1;
            IF FOUND THEN
                RAISE EXCEPTION 'statement % starts at % but the previous one ended at %',
                    broken.id, broken.from_seq, broken.head
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER consignment_statements_follow_chain AFTER INSERT "
        "ON consignment_statements REFERENCING NEW TABLE AS new_statements "
        "FOR EACH STATEMENT EXECUTE FUNCTION consignment_statements_follow_chain()"
    )
    # Append-only: a statement, and a record once written, never change, so nothing can
    # leave its range or move into another one.
    op.execute(
        """
        CREATE FUNCTION consignment_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% % is part of the settlement books and cannot change',
                TG_TABLE_NAME, OLD.id USING ERRCODE = 'integrity_constraint_violation';
        END $$
        """
    )
    for table in (
        "consignment_statements",
        "consignment_sales",
        "consignment_returns",
        "consignment_adjustments",
    ):
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION consignment_append_only()"
        )


def downgrade() -> None:
    for table in (
        "consignment_statements",
        "consignment_sales",
        "consignment_returns",
        "consignment_adjustments",
    ):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    op.execute("DROP FUNCTION IF EXISTS consignment_append_only()")
    op.execute(
        "DROP TRIGGER IF EXISTS consignment_statements_follow_chain ON consignment_statements"
    )
    op.execute("DROP FUNCTION IF EXISTS consignment_statements_follow_chain()")
    op.execute(
        "ALTER TABLE consignment_statements DROP CONSTRAINT ex_consignment_statements_no_overlap"
    )
    op.drop_table("consignment_adjustments")
    for table in ("consignment_sales", "consignment_returns"):
        op.add_column(table, sa.Column("statement_id", sa.UUID(), nullable=True))
        op.execute(
            f"UPDATE {table} x SET statement_id = st.id FROM consignment_statements st "
            "WHERE st.cooperative_id = x.cooperative_id AND st.consignor_id = x.consignor_id "
            "AND x.seq > st.from_seq AND x.seq <= st.to_seq"
        )
        op.create_foreign_key(
            f"fk_{table}_statement_id_consignment_statements",
            table,
            "consignment_statements",
            ["statement_id"],
            ["id"],
        )
        op.create_index(f"ix_{table}_statement", table, ["statement_id"], unique=False)
    op.drop_index("ix_consignment_sales_sold_at", table_name="consignment_sales")
    op.drop_index("ix_consignment_sales_range", table_name="consignment_sales")
    op.drop_index("ix_consignment_returns_range", table_name="consignment_returns")
    op.create_index(
        "ix_consignment_sales_unsettled",
        "consignment_sales",
        ["cooperative_id", "consignor_id", "sold_at"],
        unique=False,
        postgresql_where=sa.text("statement_id IS NULL"),
    )
    op.create_index(
        "ix_consignment_returns_unsettled",
        "consignment_returns",
        ["cooperative_id", "consignor_id"],
        unique=False,
        postgresql_where=sa.text("statement_id IS NULL"),
    )
    op.drop_constraint("uq_consignment_statements_head", "consignment_statements", type_="unique")
    op.drop_constraint("uq_consignment_statements_chain", "consignment_statements", type_="unique")
    op.drop_constraint(
        op.f("ck_consignment_statements_range_not_empty"), "consignment_statements", type_="check"
    )
    op.drop_column("consignment_statements", "to_seq")
    op.drop_column("consignment_statements", "from_seq")
    op.drop_column("consignment_sales", "seq")
    op.drop_column("consignment_returns", "seq")
    op.execute("DROP SEQUENCE consignment_record_seq")
    op.execute(
        """
        CREATE FUNCTION consignment_settled_is_final() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF OLD.statement_id IS NOT NULL THEN
                RAISE EXCEPTION '% % is settled by statement % and cannot change',
                    TG_TABLE_NAME, OLD.id, OLD.statement_id
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
        END $$
        """
    )
    for table in ("consignment_sales", "consignment_returns"):
        op.execute(
            f"CREATE TRIGGER {table}_settled_is_final BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW WHEN (OLD.statement_id IS NOT NULL) "
            "EXECUTE FUNCTION consignment_settled_is_final()"
        )
