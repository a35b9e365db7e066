"""Consignment events for partners (`consignment.domain.events`), emitted in the
transaction of the settlement run: each statement to its consignor and its cooperative."""

from __future__ import annotations

import uuid

from marketplace import outbox
from marketplace.consignment.domain.events import StatementIssued
from marketplace.consignment.settlement_repository import SettlementRepository
from marketplace.db import UnitOfWork


async def issued(uow: UnitOfWork, run_id: uuid.UUID) -> None:
    """Every statement of the run, to its consignor and its cooperative. One INSERT for all."""
    events: list[tuple[uuid.UUID, StatementIssued]] = []
    for row in await SettlementRepository(uow.session).statement_events_of_run(run_id):
        statement = StatementIssued(
            statement_id=row["statement_id"],
            run_id=row["run_id"],
            cooperative_organization_id=row["cooperative_id"],
            consignor_organization_id=row["consignor_id"],
            cutoff=row["cutoff"],
            opening_balance=row["opening_balance"],
            sales_count=row["sales_count"],
            gross_sales=row["gross_sales"],
            commission=row["commission"],
            net_sales=row["net_sales"],
            returns_count=row["returns_count"],
            returns_quantity=row["returns_quantity"],
            adjustments_total=row["adjustments_total"],
            payout_due=row["payout_due"],
            closing_balance=row["closing_balance"],
            payout_id=row["payout_id"],
        )
        events += [(row["consignor_id"], statement), (row["cooperative_id"], statement)]
    await outbox.emit_each(uow, events)
