"""Every query of the consignment context. Never commits.

The settlement is set-based: one statement claims every unsettled sale and return of the
cooperative's consignors (``UPDATE … WHERE statement_id IS NULL``) and totals the claimed
rows per statement (``GROUP BY``) in the same statement, so the totals are exactly the rows
this run settled, whatever runs concurrently.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.consignment.models import (
    Agreement,
    Intake,
    Payout,
    Return,
    Sale,
    SettlementRun,
    Statement,
)


class ConsignmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, obj: object) -> None:
        self.session.add(obj)

    async def flush(self) -> None:
        await self.session.flush()

    async def lock(self, key: str) -> None:
        """A transaction-scoped advisory lock (serialises one cooperative's runs, etc.)."""
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": key}
        )

    # --- agreements ------------------------------------------------------------------

    async def agreement(
        self, agreement_id: uuid.UUID, *, for_update: bool = False
    ) -> Agreement | None:
        stmt = select(Agreement).where(Agreement.id == agreement_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def agreement_for_pair(
        self, cooperative_id: uuid.UUID, consignor_id: uuid.UUID, *, active_only: bool
    ) -> Agreement | None:
        """The active agreement of the pair, else (unless `active_only`) the latest one."""
        stmt = (
            select(Agreement)
            .where(
                Agreement.cooperative_id == cooperative_id, Agreement.consignor_id == consignor_id
            )
            .order_by((Agreement.status == "active").desc(), Agreement.id.desc())
            .limit(1)
        )
        if active_only:
            stmt = stmt.where(Agreement.status == "active")
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def agreements_page(
        self, *, party: uuid.UUID | None, after: uuid.UUID | None, limit: int
    ) -> list[Agreement]:
        stmt = select(Agreement).order_by(Agreement.id).limit(limit)
        if party is not None:
            stmt = stmt.where(
                or_(Agreement.cooperative_id == party, Agreement.consignor_id == party)
            )
        if after is not None:
            stmt = stmt.where(Agreement.id > after)
        return list((await self.session.execute(stmt)).scalars())

    async def due_agreements(self, now: dt.datetime) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """(cooperative, consignor) of active agreements whose settlement cycle has elapsed."""
        reference = func.coalesce(Agreement.last_settled_at, Agreement.created_at)
        stmt = (
            select(Agreement.cooperative_id, Agreement.consignor_id)
            .where(
                Agreement.status == "active",
                reference + Agreement.settlement_cycle_days * text("interval '1 day'") <= now,
            )
            .order_by(Agreement.cooperative_id, Agreement.consignor_id)
        )
        return [(r[0], r[1]) for r in await self.session.execute(stmt)]

    async def mark_settled(
        self, cooperative_id: uuid.UUID, consignor_ids: Sequence[uuid.UUID], at: dt.datetime
    ) -> None:
        await self.session.execute(
            update(Agreement)
            .where(
                Agreement.cooperative_id == cooperative_id,
                Agreement.consignor_id.in_(list(consignor_ids)),
                Agreement.status == "active",
            )
            .values(last_settled_at=at)
            .execution_options(synchronize_session=False)
        )

    # --- intakes ---------------------------------------------------------------------

    async def intake(self, intake_id: uuid.UUID, *, for_update: bool = False) -> Intake | None:
        stmt = select(Intake).where(Intake.id == intake_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def intakes_page(
        self,
        *,
        party: uuid.UUID | None,
        status: str | None,
        expired: bool | None,
        after: uuid.UUID | None,
        limit: int,
    ) -> list[Intake]:
        stmt = select(Intake).order_by(Intake.id).limit(limit)
        if party is not None:
            stmt = stmt.where(or_(Intake.cooperative_id == party, Intake.consignor_id == party))
        if status is not None:
            stmt = stmt.where(Intake.status == status)
        if expired is True:
            stmt = stmt.where(
                Intake.expired_flagged_at.is_not(None),
                Intake.returned_quantity < Intake.received_quantity,
            )
        elif expired is False:
            stmt = stmt.where(Intake.expired_flagged_at.is_(None))
        if after is not None:
            stmt = stmt.where(Intake.id > after)
        return list((await self.session.execute(stmt)).scalars())

    async def flag_expired(self, today: dt.date) -> int:
        """Flag confirmed intakes past their expiry date with goods still to hand back."""
        result = await self.session.execute(
            update(Intake)
            .where(
                Intake.status == "confirmed",
                Intake.expiry_date < today,
                Intake.expired_flagged_at.is_(None),
                Intake.returned_quantity < Intake.received_quantity,
            )
            .values(expired_flagged_at=func.now())
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    # --- sales -----------------------------------------------------------------------

    async def insert_sale_if_new(self, values: dict[str, Any]) -> uuid.UUID | None:
        """Record the sale of a leg once; None when the leg already has one."""
        stmt = (
            insert(Sale)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[Sale.leg_id])
            .returning(Sale.id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def sale_by_leg(self, leg_id: uuid.UUID) -> Sale | None:
        return (
            await self.session.execute(select(Sale).where(Sale.leg_id == leg_id))
        ).scalar_one_or_none()

    async def sales_of_statement(self, statement_id: uuid.UUID) -> list[Sale]:
        stmt = select(Sale).where(Sale.statement_id == statement_id).order_by(Sale.sold_at, Sale.id)
        return list((await self.session.execute(stmt)).scalars())

    async def returns_of_statement(self, statement_id: uuid.UUID) -> list[Return]:
        stmt = (
            select(Return)
            .where(Return.statement_id == statement_id)
            .order_by(Return.returned_at, Return.id)
        )
        return list((await self.session.execute(stmt)).scalars())

    # --- settlement ------------------------------------------------------------------

    async def consignors_to_settle(
        self,
        cooperative_id: uuid.UUID,
        cutoff: dt.datetime,
        only: Sequence[uuid.UUID] | None,
    ) -> list[uuid.UUID]:
        """Consignors of the cooperative with unsettled sales or returns before the cut-off."""
        sales = select(Sale.consignor_id).where(
            Sale.cooperative_id == cooperative_id,
            Sale.statement_id.is_(None),
            Sale.sold_at < cutoff,
        )
        returns = select(Return.consignor_id).where(
            Return.cooperative_id == cooperative_id,
            Return.statement_id.is_(None),
            Return.returned_at < cutoff,
        )
        if only is not None:
            sales = sales.where(Sale.consignor_id.in_(list(only)))
            returns = returns.where(Return.consignor_id.in_(list(only)))
        union = sales.union(returns).subquery()
        rows = await self.session.execute(
            select(union.c.consignor_id).order_by(union.c.consignor_id)
        )
        return list(rows.scalars())

    async def open_statements(
        self,
        run_id: uuid.UUID,
        cooperative_id: uuid.UUID,
        cutoff: dt.datetime,
        statement_ids: Sequence[uuid.UUID],
        consignor_ids: Sequence[uuid.UUID],
    ) -> None:
        """One empty statement per consignor, opening with the last statement's closing
        balance and naming the agreement it settles under. One statement."""
        await self.session.execute(
            text(
                """
                INSERT INTO consignment_statements (
                    id, run_id, cooperative_id, consignor_id, agreement_id, cutoff,
                    opening_balance, sales_count, gross_sales, commission, net_sales,
                    returns_count, returns_quantity, adjustments_total, payout_due,
                    closing_balance, created_at)
                SELECT u.id, :run, :coop, u.consignor_id,
                       (SELECT a.id FROM consignment_agreements a
                         WHERE a.cooperative_id = :coop AND a.consignor_id = u.consignor_id
                         ORDER BY (a.status = 'active') DESC, a.id DESC LIMIT 1),
                       :cutoff, o.balance, 0, 0, 0, 0, 0, 0, 0, 0, o.balance, now()
                  FROM unnest(CAST(:ids AS uuid[]), CAST(:consignors AS uuid[]))
                       AS u(id, consignor_id)
                  CROSS JOIN LATERAL (
                       SELECT COALESCE((
                           SELECT p.closing_balance FROM consignment_statements p
                            WHERE p.cooperative_id = :coop AND p.consignor_id = u.consignor_id
                            ORDER BY p.id DESC LIMIT 1), 0) AS balance) AS o
                """
            ),
            {
                "run": run_id,
                "coop": cooperative_id,
                "cutoff": cutoff,
                "ids": list(statement_ids),
                "consignors": list(consignor_ids),
            },
        )

    async def claim_and_total(
        self,
        cooperative_id: uuid.UUID,
        cutoff: dt.datetime,
        statement_ids: Sequence[uuid.UUID],
        consignor_ids: Sequence[uuid.UUID],
    ) -> list[tuple[uuid.UUID, int, int, int]]:
        """Claim every unsettled sale and return before the cut-off for the statements'
        consignors and total exactly the claimed rows into the statements — one statement.

        A row claimed by a concurrent run (``statement_id`` already set) is skipped: its
        `WHERE statement_id IS NULL` is re-checked after the other run commits. Returns
        (statement id, sales count, returns count, payout due) per statement.
        """
        rows = await self.session.execute(
            text(
                """
                WITH u AS (
                    SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:consignors AS uuid[]))
                        AS u(id, consignor_id)
                ), cs AS (
                    UPDATE consignment_sales s SET statement_id = u.id
                      FROM u
                     WHERE s.cooperative_id = :coop AND s.consignor_id = u.consignor_id
                       AND s.statement_id IS NULL AND s.sold_at < :cutoff
                    RETURNING s.statement_id, s.gross_amount, s.commission_amount
                ), cr AS (
                    UPDATE consignment_returns r SET statement_id = u.id
                      FROM u
                     WHERE r.cooperative_id = :coop AND r.consignor_id = u.consignor_id
                       AND r.statement_id IS NULL AND r.returned_at < :cutoff
                    RETURNING r.statement_id, r.quantity
                ), sa AS (
                    SELECT statement_id, count(*) AS n, sum(gross_amount) AS gross,
                           sum(commission_amount) AS commission
                      FROM cs GROUP BY statement_id
                ), ra AS (
                    SELECT statement_id, count(*) AS n, sum(quantity) AS quantity
                      FROM cr GROUP BY statement_id
                ), t AS (
                    SELECT u.id, COALESCE(sa.n, 0) AS sales_n, COALESCE(sa.gross, 0) AS gross,
                           COALESCE(sa.commission, 0) AS commission,
                           COALESCE(ra.n, 0) AS returns_n, COALESCE(ra.quantity, 0) AS returned
                      FROM u LEFT JOIN sa ON sa.statement_id = u.id
                             LEFT JOIN ra ON ra.statement_id = u.id
                )
                UPDATE consignment_statements st
                   SET sales_count = t.sales_n,
                       gross_sales = t.gross,
                       commission = t.commission,
                       net_sales = t.gross - t.commission,
                       returns_count = t.returns_n,
                       returns_quantity = t.returned,
                       payout_due = GREATEST(
                           st.opening_balance + t.gross - t.commission + st.adjustments_total, 0),
                       closing_balance = st.opening_balance + t.gross - t.commission
                           + st.adjustments_total - GREATEST(
                           st.opening_balance + t.gross - t.commission + st.adjustments_total, 0)
                  FROM t
                 WHERE st.id = t.id
                RETURNING st.id, st.sales_count, st.returns_count, st.payout_due
                """
            ),
            {
                "coop": cooperative_id,
                "cutoff": cutoff,
                "ids": list(statement_ids),
                "consignors": list(consignor_ids),
            },
        )
        return [(r[0], int(r[1]), int(r[2]), int(r[3])) for r in rows]

    async def drop_empty_statements(self, run_id: uuid.UUID) -> None:
        """Statements left with nothing new (a concurrent run settled their rows first)."""
        await self.session.execute(
            text(
                "DELETE FROM consignment_statements WHERE run_id = :run "
                "AND sales_count = 0 AND returns_count = 0 AND payout_due = 0 "
                "AND opening_balance = closing_balance"
            ),
            {"run": run_id},
        )

    async def create_payouts(
        self, run_id: uuid.UUID, statement_ids: Sequence[uuid.UUID], payout_ids: Sequence[uuid.UUID]
    ) -> None:
        """A pending payout per statement with something due, to the agreement's account."""
        await self.session.execute(
            text(
                """
                INSERT INTO consignment_payouts (
                    id, statement_id, cooperative_id, consignor_id, amount, status,
                    bank_name, bank_account_number, bank_account_holder, created_at)
                SELECT u.payout_id, st.id, st.cooperative_id, st.consignor_id, st.payout_due,
                       'pending', a.bank_name, a.bank_account_number, a.bank_account_holder,
                       now()
                  FROM unnest(CAST(:sids AS uuid[]), CAST(:pids AS uuid[]))
                       AS u(statement_id, payout_id)
                  JOIN consignment_statements st ON st.id = u.statement_id
                  JOIN consignment_agreements a ON a.id = st.agreement_id
                 WHERE st.run_id = :run AND st.payout_due > 0
                """
            ),
            {"run": run_id, "sids": list(statement_ids), "pids": list(payout_ids)},
        )

    async def run(self, run_id: uuid.UUID) -> SettlementRun | None:
        return await self.session.get(SettlementRun, run_id)

    async def statement(self, statement_id: uuid.UUID) -> Statement | None:
        return await self.session.get(Statement, statement_id)

    async def statements_of_run(self, run_id: uuid.UUID) -> list[Statement]:
        stmt = select(Statement).where(Statement.run_id == run_id).order_by(Statement.id)
        return list((await self.session.execute(stmt)).scalars())

    async def statements_page(
        self,
        *,
        party: uuid.UUID | None,
        consignor_id: uuid.UUID | None,
        after: uuid.UUID | None,
        limit: int,
    ) -> list[Statement]:
        """Newest first."""
        stmt = select(Statement).order_by(Statement.id.desc()).limit(limit)
        if party is not None:
            stmt = stmt.where(
                or_(Statement.cooperative_id == party, Statement.consignor_id == party)
            )
        if consignor_id is not None:
            stmt = stmt.where(Statement.consignor_id == consignor_id)
        if after is not None:
            stmt = stmt.where(Statement.id < after)
        return list((await self.session.execute(stmt)).scalars())

    # --- payouts ---------------------------------------------------------------------

    async def payout(self, payout_id: uuid.UUID, *, for_update: bool = False) -> Payout | None:
        stmt = select(Payout).where(Payout.id == payout_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def payouts_of_statements(
        self, statement_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, Payout]:
        if not statement_ids:
            return {}
        stmt = select(Payout).where(Payout.statement_id.in_(list(statement_ids)))
        return {p.statement_id: p for p in (await self.session.execute(stmt)).scalars()}

    async def payouts_page(
        self, *, party: uuid.UUID | None, status: str | None, after: uuid.UUID | None, limit: int
    ) -> list[Payout]:
        stmt = select(Payout).order_by(Payout.id).limit(limit)
        if party is not None:
            stmt = stmt.where(or_(Payout.cooperative_id == party, Payout.consignor_id == party))
        if status is not None:
            stmt = stmt.where(Payout.status == status)
        if after is not None:
            stmt = stmt.where(Payout.id > after)
        return list((await self.session.execute(stmt)).scalars())

    # --- totals (tests, reports) -----------------------------------------------------

    async def unsettled_net(self, cooperative_id: uuid.UUID, consignor_id: uuid.UUID) -> int:
        stmt = select(func.coalesce(func.sum(Sale.gross_amount - Sale.commission_amount), 0)).where(
            and_(
                Sale.cooperative_id == cooperative_id,
                Sale.consignor_id == consignor_id,
                Sale.statement_id.is_(None),
            )
        )
        return int((await self.session.execute(stmt)).scalar_one())
