"""Consignment events for partners (`marketplace.webhooks.EventType`), emitted in the
transaction of the settlement run: each statement to its consignor and its cooperative."""

from __future__ import annotations

import uuid
from typing import Any

from marketplace import outbox
from marketplace.consignment.repository import ConsignmentRepository
from marketplace.db import UnitOfWork
from marketplace.webhooks import EventType


async def issued(uow: UnitOfWork, run_id: uuid.UUID) -> None:
    """What each statement of the run settles and pays (the payout stays pending until the
    cooperative's finance marks it paid; nothing due, no payout). One INSERT for all."""
    events: list[tuple[uuid.UUID, dict[str, Any]]] = []
    for row in await ConsignmentRepository(uow.session).statement_events_of_run(run_id):
        payload = {
            "statement_id": str(row["statement_id"]),
            "run_id": str(row["run_id"]),
            "cooperative_organization_id": str(row["cooperative_id"]),
            "consignor_organization_id": str(row["consignor_id"]),
            "cutoff": row["cutoff"].isoformat(),
            **{
                figure: row[figure]
                for figure in (
                    "opening_balance",
                    "sales_count",
                    "gross_sales",
                    "commission",
                    "net_sales",
                    "returns_count",
                    "returns_quantity",
                    "adjustments_total",
                    "payout_due",
                    "closing_balance",
                )
            },
            "currency": "IDR",
            "payout_id": str(row["payout_id"]) if row["payout_id"] else None,
        }
        events += [(row["consignor_id"], payload), (row["cooperative_id"], payload)]
    await outbox.emit_each(uow, EventType.CONSIGNMENT_STATEMENT_ISSUED, events)
