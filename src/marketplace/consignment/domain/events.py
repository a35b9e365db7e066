"""The consignment context's events (see `marketplace.events`)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import ClassVar

from marketplace.events import Currency, PartnerEvent
from marketplace.money import Rupiah


class StatementIssued(PartnerEvent, frozen=True, kw_only=True):
    """A settlement run issued a consignor's statement: what it settles and pays (the
    payout stays pending until the cooperative's finance marks it paid; nothing due, no
    payout). To the consignor and the cooperative."""

    event_type: ClassVar[str] = "consignment.statement.issued"
    statement_id: uuid.UUID
    run_id: uuid.UUID
    cooperative_organization_id: uuid.UUID
    consignor_organization_id: uuid.UUID
    cutoff: dt.datetime
    opening_balance: Rupiah
    sales_count: int
    gross_sales: Rupiah
    commission: Rupiah
    net_sales: Rupiah
    returns_count: int
    returns_quantity: int
    adjustments_total: Rupiah
    payout_due: Rupiah
    closing_balance: Rupiah
    currency: Currency = "IDR"
    payout_id: uuid.UUID | None


__all__ = [
    "StatementIssued",
]
