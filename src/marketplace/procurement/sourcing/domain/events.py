"""Government sourcing events (see `marketplace.events`): the office follows its RFQs, the
supplier its purchase orders; both follow the invoice and the treasury payment."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import ClassVar

import msgspec

from marketplace.events import Currency, Event, PartnerEvent
from marketplace.money import Rupiah
from marketplace.procurement.sourcing.domain import PurchaseOrderStatus


class RfqPublished(PartnerEvent, frozen=True, kw_only=True):
    """An office published an RFQ: to the office."""

    event_type: ClassVar[str] = "procurement.rfq.published"
    rfq_id: uuid.UUID
    buyer_organization_id: uuid.UUID
    delivery_region_code: str
    deadline: dt.datetime
    items: int  # how many lines it asks for


class RfqFailed(Event, frozen=True, kw_only=True):
    """Every compliant supplier declined: a record for the office."""

    event_type: ClassVar[str] = "procurement.rfq.failed"
    rfq_id: uuid.UUID
    reason: str


class PurchaseOrderCreated(PartnerEvent, frozen=True, kw_only=True):
    """An award (or its cascade) created a purchase order: to the supplier."""

    event_type: ClassVar[str] = "procurement.purchase_order.created"
    purchase_order_id: uuid.UUID
    rfq_id: uuid.UUID
    buyer_organization_id: uuid.UUID
    total: Rupiah
    currency: Currency = "IDR"
    delivery_date: dt.date
    cascaded_from_id: uuid.UUID | None


class PurchaseOrderDeclined(Event, frozen=True, kw_only=True):
    """The awarded supplier declined (and which purchase order the award cascaded to): a
    record for the office."""

    event_type: ClassVar[str] = "procurement.purchase_order.declined"
    purchase_order_id: uuid.UUID
    rfq_id: uuid.UUID
    reason: str
    next_purchase_order_id: uuid.UUID | None


class ReceivedLine(msgspec.Struct, frozen=True, kw_only=True):
    line_no: int
    quantity: int


class GoodsReceived(Event, frozen=True, kw_only=True):
    """The office recorded a goods receipt (BAST): a record for the supplier."""

    event_type: ClassVar[str] = "procurement.goods_received"
    purchase_order_id: uuid.UUID
    receipt_id: uuid.UUID
    status: PurchaseOrderStatus
    lines: list[ReceivedLine]


class InvoiceIssued(PartnerEvent, frozen=True, kw_only=True):
    """The supplier or the office invoiced what was received: to both."""

    event_type: ClassVar[str] = "procurement.invoice.issued"
    purchase_order_id: uuid.UUID
    invoice_id: uuid.UUID
    issued_by_organization_id: uuid.UUID
    subtotal: Rupiah
    vat: Rupiah
    total: Rupiah
    pph22: Rupiah
    net_payable: Rupiah
    currency: Currency = "IDR"


class TreasuryPaymentRecorded(PartnerEvent, frozen=True, kw_only=True):
    """The office's finance recorded the SP2D: to the office and the supplier."""

    event_type: ClassVar[str] = "procurement.treasury_payment.recorded"
    purchase_order_id: uuid.UUID
    invoice_id: uuid.UUID
    payment_id: uuid.UUID
    sp2d_number: str
    paid_on: dt.date
    amount: Rupiah
    currency: Currency = "IDR"


__all__ = [
    "GoodsReceived",
    "InvoiceIssued",
    "PurchaseOrderCreated",
    "PurchaseOrderDeclined",
    "ReceivedLine",
    "RfqFailed",
    "RfqPublished",
    "TreasuryPaymentRecorded",
]
