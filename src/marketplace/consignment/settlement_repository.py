"""Every query of a consignment settlement: the consignors due, the set-based run (one
statement writes a statement per consignor covering the range of record numbers after
its previous statement, summed with an index-only range scan, their payouts and the
agreements' cycle), and what a statement's range holds. Never commits. The database
refuses overlapping ranges, so a concurrent run that raced this one fails rather than
settling anything twice.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import (
    Date,
    Integer,
    and_,
    cast,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.accounts import Scope
from marketplace.consignment.domain.events import StatementIssued
from marketplace.consignment.models import (
    Adjustment,
    Agreement,
    Payout,
    Return,
    Sale,
    SettlementRun,
    Statement,
)
from marketplace.consignment.repository import ORGANIZATION_ZONES, local_date_in, party_page
from marketplace.events import Currency
from marketplace.ids import new_id

# The whole run's writes in one statement (see `settle`): a statement per consignor with
# new records, its payout, the agreements' cycle and the statements' events.
SETTLE_SQL = text(
    """
    WITH pairs AS (
        SELECT u.id, u.payout_id, u.consignor_event_id, u.cooperative_event_id,
               u.consignor_id,
               COALESCE(h.to_seq, 0) AS from_seq,
               COALESCE(h.closing_balance, 0) AS opening,
               (SELECT a.id FROM consignment_agreements a
                 WHERE a.cooperative_id = :coop AND a.consignor_id = u.consignor_id
                 ORDER BY (a.status = 'active') DESC, a.id DESC LIMIT 1)
                   AS agreement_id
          FROM unnest(CAST(:ids AS uuid[]), CAST(:payout_ids AS uuid[]),
                      CAST(:consignor_event_ids AS uuid[]),
                      CAST(:cooperative_event_ids AS uuid[]), CAST(:consignors AS uuid[]))
               AS u(id, payout_id, consignor_event_id, cooperative_event_id, consignor_id)
          LEFT JOIN LATERAL (
               SELECT st.to_seq, st.closing_balance FROM consignment_statements st
                WHERE st.cooperative_id = :coop AND st.consignor_id = u.consignor_id
                ORDER BY st.to_seq DESC LIMIT 1) h ON true
    ), bounded AS MATERIALIZED (
        -- Materialised: each of the three sums below would evaluate the stop again.
        SELECT p.*, COALESCE(LEAST(
            (SELECT min(s.seq) FROM consignment_sales s
              WHERE s.cooperative_id = :coop AND s.consignor_id = p.consignor_id
                AND s.sold_at >= :cutoff AND s.seq > p.from_seq),
            (SELECT min(r.seq) FROM consignment_returns r
              WHERE r.cooperative_id = :coop AND r.consignor_id = p.consignor_id
                AND r.returned_at >= :cutoff AND r.seq > p.from_seq),
            (SELECT min(j.seq) FROM consignment_adjustments j
              WHERE j.cooperative_id = :coop AND j.consignor_id = p.consignor_id
                AND j.created_at >= :cutoff AND j.seq > p.from_seq)
            ), 9223372036854775807) AS stop_seq
          FROM pairs p
    ), t AS (
        SELECT b.id, b.payout_id, b.consignor_id, b.agreement_id, b.from_seq, b.opening,
               s.n AS sales_n, s.gross, s.commission,
               r.n AS returns_n, r.quantity AS returned,
               j.total AS adjustments,
               GREATEST(s.last, r.last, j.last) AS to_seq
          FROM bounded b
          CROSS JOIN LATERAL (
               SELECT count(*) AS n, COALESCE(sum(x.gross_amount), 0) AS gross,
                      COALESCE(sum(x.commission_amount), 0) AS commission,
                      max(x.seq) AS last
                 FROM consignment_sales x
                WHERE x.cooperative_id = :coop AND x.consignor_id = b.consignor_id
                  AND x.seq > b.from_seq AND x.seq < b.stop_seq) s
          CROSS JOIN LATERAL (
               SELECT count(*) AS n, COALESCE(sum(x.quantity), 0) AS quantity,
                      max(x.seq) AS last
                 FROM consignment_returns x
                WHERE x.cooperative_id = :coop AND x.consignor_id = b.consignor_id
                  AND x.seq > b.from_seq AND x.seq < b.stop_seq) r
          CROSS JOIN LATERAL (
               SELECT COALESCE(sum(x.amount), 0) AS total, max(x.seq) AS last
                 FROM consignment_adjustments x
                WHERE x.cooperative_id = :coop AND x.consignor_id = b.consignor_id
                  AND x.seq > b.from_seq AND x.seq < b.stop_seq) j
    ), written AS (
        INSERT INTO consignment_statements (
            id, run_id, cooperative_id, consignor_id, agreement_id, cutoff,
            from_seq, to_seq, opening_balance, sales_count, gross_sales, commission,
            net_sales, returns_count, returns_quantity, adjustments_total,
            payout_due, closing_balance, created_at)
        SELECT t.id, :run, :coop, t.consignor_id, t.agreement_id, :cutoff,
               t.from_seq, t.to_seq, t.opening, t.sales_n, t.gross, t.commission,
               t.gross - t.commission, t.returns_n, t.returned, t.adjustments,
               GREATEST(t.opening + t.gross - t.commission + t.adjustments, 0),
               LEAST(t.opening + t.gross - t.commission + t.adjustments, 0),
               now()
          FROM t
         WHERE t.to_seq IS NOT NULL
        RETURNING id, consignor_id, agreement_id, cutoff, opening_balance, sales_count,
                  gross_sales, commission, net_sales, returns_count, returns_quantity,
                  adjustments_total, payout_due, closing_balance
    ), paid AS (
        -- A pending payout per statement with something due, to the agreement's account
        -- (the foreign key to the statement is checked at the end of this statement).
        INSERT INTO consignment_payouts (
            id, statement_id, cooperative_id, consignor_id, amount, status,
            bank_name, bank_account_number, bank_account_holder, created_at)
        SELECT p.payout_id, w.id, :coop, w.consignor_id, w.payout_due, 'pending',
               a.bank_name, a.bank_account_number, a.bank_account_holder, now()
          FROM written w
          JOIN pairs p ON p.id = w.id
          JOIN consignment_agreements a ON a.id = w.agreement_id
         WHERE w.payout_due > 0
        RETURNING id, statement_id
    ), cycled AS (
        -- A settlement is a write of the agreement too: its `ETag` covers
        -- `last_settled_at`.
        UPDATE consignment_agreements a
           SET last_settled_at = :settled_at, version = a.version + 1, updated_at = now()
          FROM written w
         WHERE a.cooperative_id = :coop AND a.consignor_id = w.consignor_id
           AND a.status = 'active'
    ), issued AS MATERIALIZED (
        -- Each statement's `consignment.statement.issued`, as `outbox.emit_each` would
        -- store `StatementIssued`: its payload is `events.payload_of`'s
        -- (tests/test_consignment_settlement_oracle.py holds them equal), built here
        -- rather than from 1,000 Structs in Python; once per statement (materialised),
        -- not once per party.
        SELECT p.consignor_event_id, p.cooperative_event_id, w.consignor_id,
               jsonb_build_object(
                   'statement_id', w.id,
                   'run_id', CAST(:run AS uuid),
                   'cooperative_organization_id', CAST(:coop AS uuid),
                   'consignor_organization_id', w.consignor_id,
                   'cutoff', CAST(:cutoff_text AS text),
                   'opening_balance', w.opening_balance,
                   'sales_count', w.sales_count,
                   'gross_sales', w.gross_sales,
                   'commission', w.commission,
                   'net_sales', w.net_sales,
                   'returns_count', w.returns_count,
                   'returns_quantity', w.returns_quantity,
                   'adjustments_total', w.adjustments_total,
                   'payout_due', w.payout_due,
                   'closing_balance', w.closing_balance,
                   'currency', CAST(:currency AS text),
                   'payout_id', paid.id) AS payload
          FROM written w
          JOIN pairs p ON p.id = w.id
          LEFT JOIN paid ON paid.statement_id = w.id
    ), announced AS (
        -- To the consignor and to the cooperative.
        INSERT INTO outbox_events (id, topic, organization_id, payload, attempts, created_at)
        SELECT i.consignor_event_id, CAST(:topic AS text), i.consignor_id, i.payload, 0, now()
          FROM issued i
        UNION ALL
        SELECT i.cooperative_event_id, CAST(:topic AS text), CAST(:coop AS uuid), i.payload,
               0, now()
          FROM issued i
    )
    SELECT w.id, w.consignor_id, w.sales_count, w.payout_due,
           p.consignor_event_id, p.cooperative_event_id
      FROM written w
      JOIN pairs p ON p.id = w.id
     ORDER BY w.id
    """
)


# `StatementIssued.currency`'s default: every statement is in rupiah.
STATEMENT_CURRENCY: Currency = "IDR"


class SettledStatement(NamedTuple):
    """A statement the run wrote, with the ids of its two events (see `SETTLE_SQL`)."""

    statement_id: uuid.UUID
    consignor_id: uuid.UUID
    sales_count: int
    payout_due: int
    consignor_event_id: uuid.UUID
    cooperative_event_id: uuid.UUID


class SettlementRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def sales_of_statement(self, statement: Statement) -> list[Sale]:
        """The sales in the statement's range (a range join: nothing on the sale names it)."""
        stmt = select(Sale).where(*in_range(Sale, statement)).order_by(Sale.sold_at, Sale.id)
        return list((await self.session.execute(stmt)).scalars())

    async def returns_of_statement(self, statement: Statement) -> list[Return]:
        stmt = (
            select(Return)
            .where(*in_range(Return, statement))
            .order_by(Return.returned_at, Return.id)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def adjustments_of_statement(self, statement: Statement) -> list[Adjustment]:
        stmt = select(Adjustment).where(*in_range(Adjustment, statement)).order_by(Adjustment.seq)
        return list((await self.session.execute(stmt)).scalars())

    async def due_agreements(self, now: dt.datetime) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """(cooperative, consignor) of active agreements whose settlement cycle has elapsed,
        counted in whole days of the cooperative's calendar: a 7-day cycle settled on a
        Monday is due again from the next Monday's local midnight, whatever the hour of
        the last run (an elapsed-time rule drifted later by the cron's hour every cycle)."""
        zone = ORGANIZATION_ZONES.c.time_zone
        reference = func.coalesce(Agreement.last_settled_at, Agreement.created_at)
        last_day = cast(func.timezone(zone, reference), Date)
        stmt = (
            select(Agreement.cooperative_id, Agreement.consignor_id)
            .where(
                ORGANIZATION_ZONES.c.id == Agreement.cooperative_id,
                Agreement.status == "active",
                last_day + cast(Agreement.settlement_cycle_days, Integer)
                <= local_date_in(now, zone),
            )
            .order_by(Agreement.cooperative_id, Agreement.consignor_id)
        )
        return [(r[0], r[1]) for r in await self.session.execute(stmt)]

    async def mark_settled(
        self, cooperative_id: uuid.UUID, consignor_ids: Sequence[uuid.UUID], at: dt.datetime
    ) -> None:
        # One array parameter, not an IN list of a thousand (rendered per execution).
        await self.session.execute(
            update(Agreement)
            .where(
                Agreement.cooperative_id == cooperative_id,
                Agreement.consignor_id == func.any(cast(list(consignor_ids), ARRAY(PG_UUID))),
                Agreement.status == "active",
            )
            # A settlement is a write of the agreement too: its `ETag` covers `last_settled_at`.
            .values(last_settled_at=at, version=Agreement.version + 1)
            .execution_options(synchronize_session=False)
        )

    async def settlement_pairs(
        self, cooperative_id: uuid.UUID, only: Sequence[uuid.UUID] | None
    ) -> list[uuid.UUID]:
        """The cooperative's consignors (every one that ever had an agreement with it)."""
        stmt = (
            select(Agreement.consignor_id)
            .where(Agreement.cooperative_id == cooperative_id)
            .group_by(Agreement.consignor_id)
            .order_by(Agreement.consignor_id)
        )
        if only is not None:
            stmt = stmt.where(Agreement.consignor_id.in_(list(only)))
        return list((await self.session.execute(stmt)).scalars())

    async def settle(
        self,
        run_id: uuid.UUID,
        cooperative_id: uuid.UUID,
        cutoff: dt.datetime,
        consignor_ids: Sequence[uuid.UUID],
        settled_at: dt.datetime,
    ) -> list[SettledStatement]:
        """Settle, in one statement, each consignor's records not yet settled: a statement
        per consignor with any, covering the range ``(from_seq, to_seq]`` that follows the
        consignor's previous statement, with its totals summed over that range; a pending
        payout per statement with something due; the settled agreements' cycle restarted
        at `settled_at`; each statement's two `StatementIssued` events in the outbox. One
        round trip for the whole run's writes.

        Nothing is written on the settled rows: the statement's range is the claim, and
        the database refuses an overlapping or non-contiguous one (see `models`). The sums
        are index-only range scans (``ix_consignment_*_range``), one per consignor.

        The range is the longest run of new records all made before `cutoff`: it stops
        before the first one at or after the cut-off, which waits for a later statement
        with everything numbered after it (only a past cut-off can do that; a record is
        never skipped). Must run under the exclusive `lock_records`. Returns the
        statements written, in id order; the caller enqueues their events after commit.
        """
        # A connection that ran this statement five times would switch to a generic plan,
        # blind to how many records each range holds: 15-30x slower at 1M sales (3.5-8.9 s
        # instead of 0.25 s, on one connection as the worker's pool reuses it). Planned
        # for each run instead; the setting ends with this transaction.
        await self.session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
        rows = await self.session.execute(
            SETTLE_SQL,
            settle_parameters(run_id, cooperative_id, cutoff, consignor_ids, settled_at),
        )
        return [SettledStatement._make(row) for row in rows]

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
        scope: Scope,
        consignor_id: uuid.UUID | None,
        after: uuid.UUID | None,
        limit: int,
    ) -> list[Statement]:
        """Newest first."""
        stmt = party_page(
            select(Statement), Statement, scope, consignor_id=consignor_id, after=after
        )
        return list((await self.session.execute(stmt.limit(limit))).scalars())

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
        self, *, scope: Scope, status: str | None, after: uuid.UUID | None, limit: int
    ) -> list[Payout]:
        stmt = select(Payout).order_by(Payout.id).limit(limit)
        stmt = scope.narrow(
            stmt, lambda org: or_(Payout.cooperative_id == org, Payout.consignor_id == org)
        )
        if status is not None:
            stmt = stmt.where(Payout.status == status)
        if after is not None:
            stmt = stmt.where(Payout.id > after)
        return list((await self.session.execute(stmt)).scalars())

    async def settled_up_to(self, cooperative_id: uuid.UUID, consignor_id: uuid.UUID) -> int:
        """The pair's chain head: records numbered above it are not settled yet."""
        stmt = select(func.coalesce(func.max(Statement.to_seq), 0)).where(
            Statement.cooperative_id == cooperative_id, Statement.consignor_id == consignor_id
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def unsettled_net(self, cooperative_id: uuid.UUID, consignor_id: uuid.UUID) -> int:
        """Net of commission of the pair's sales no statement covers yet."""
        head = await self.settled_up_to(cooperative_id, consignor_id)
        stmt = select(func.coalesce(func.sum(Sale.gross_amount - Sale.commission_amount), 0)).where(
            and_(
                Sale.cooperative_id == cooperative_id,
                Sale.consignor_id == consignor_id,
                Sale.seq > head,
            )
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def unsettled_adjustments(
        self, cooperative_id: uuid.UUID, consignor_id: uuid.UUID
    ) -> int:
        head = await self.settled_up_to(cooperative_id, consignor_id)
        stmt = select(func.coalesce(func.sum(Adjustment.amount), 0)).where(
            Adjustment.cooperative_id == cooperative_id,
            Adjustment.consignor_id == consignor_id,
            Adjustment.seq > head,
        )
        return int((await self.session.execute(stmt)).scalar_one())


def settle_parameters(
    run_id: uuid.UUID,
    cooperative_id: uuid.UUID,
    cutoff: dt.datetime,
    consignor_ids: Sequence[uuid.UUID],
    settled_at: dt.datetime,
) -> dict[str, Any]:
    """`SETTLE_SQL`'s parameters: the ids of whatever it may write for each consignor."""
    return {
        "run": run_id,
        "coop": cooperative_id,
        "cutoff": cutoff,
        "ids": [new_id() for _ in consignor_ids],
        "payout_ids": [new_id() for _ in consignor_ids],
        "consignor_event_ids": [new_id() for _ in consignor_ids],
        "cooperative_event_ids": [new_id() for _ in consignor_ids],
        "consignors": list(consignor_ids),
        "settled_at": settled_at,
        "topic": StatementIssued.event_type,
        # What `payload_of` makes of the cut-off the statement stores (UTC).
        "cutoff_text": cutoff.astimezone(dt.UTC).isoformat(),
        "currency": STATEMENT_CURRENCY,
    }


def in_range(table: type[Sale] | type[Return] | type[Adjustment], st: Statement) -> list[Any]:
    return [
        table.cooperative_id == st.cooperative_id,
        table.consignor_id == st.consignor_id,
        table.seq > st.from_seq,
        table.seq <= st.to_seq,
    ]
