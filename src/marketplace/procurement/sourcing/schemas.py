"""HTTP request/response shapes of government sourcing."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec

from marketplace.accounts.domain import REGION_CODE_PATTERN
from marketplace.dates import INSTANT_TEXT, BoundedDates, BusinessDate, Instant
from marketplace.procurement.sourcing.domain import (
    EvaluationRule,
    PurchaseOrderStatus,
    QuoteStatus,
    RfqStatus,
)
from marketplace.tax import VatTreatment

Quantity = Annotated[int, msgspec.Meta(ge=1, le=10_000_000)]
ReceivedQuantity = Annotated[int, msgspec.Meta(ge=0, le=10_000_000)]
UnitPrice = Annotated[int, msgspec.Meta(ge=1, le=1_000_000_000_000)]
Amount = Annotated[int, msgspec.Meta(ge=1, le=10**15)]
LineNo = Annotated[int, msgspec.Meta(ge=1, le=1000)]
# A delivery place must name at least a city (``35.76``), so cooperatives can be matched.
CityRegionCode = Annotated[
    str, msgspec.Meta(pattern=REGION_CODE_PATTERN, min_length=5, max_length=13)
]
Text200 = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Text1000 = Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]
Reference = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^\S(.*\S)?$")]
Currency = Literal["IDR"]
MAX_ITEMS = 100


# --- requests ------------------------------------------------------------------------


class RfqItemIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    product_id: uuid.UUID
    quantity: Quantity


class RfqDeliveryIn(BoundedDates, forbid_unknown_fields=True, kw_only=True):
    date: BusinessDate
    region_code: CityRegionCode
    address: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class RfqCreate(BoundedDates, forbid_unknown_fields=True, kw_only=True):
    title: Text200
    items: Annotated[list[RfqItemIn], msgspec.Meta(min_length=1, max_length=MAX_ITEMS)]
    delivery: RfqDeliveryIn
    budget_code: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=100,
            pattern=r"^\S(.*\S)?$",
            description="RUP/DPA budget plan code",
        ),
    ]
    deadline: Annotated[Instant, msgspec.Meta(description=f"Quotes close; {INSTANT_TEXT}")]
    evaluation_rule: EvaluationRule = EvaluationRule.LOWEST_PRICE
    ceiling_amount: (
        Annotated[int, msgspec.Meta(ge=1, le=10**15, description="Owner's estimate (HPS), pre-VAT")]
        | None
    ) = None


class QuoteLineIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    line_no: LineNo
    unit_price: UnitPrice


class QuoteCreate(BoundedDates, forbid_unknown_fields=True, kw_only=True):
    lines: Annotated[list[QuoteLineIn], msgspec.Meta(min_length=1, max_length=MAX_ITEMS)]
    delivery_promise_date: BusinessDate
    note: Text1000 | None = None


class AwardCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    quote_id: uuid.UUID | None = None
    """Award this quote instead of the lowest compliant one; needs a `reason`."""
    reason: Text1000 | None = None


class DeclineIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    reason: Text1000


class ReceiptLineIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    line_no: LineNo
    quantity: ReceivedQuantity


class ReceiptCreate(BoundedDates, forbid_unknown_fields=True, kw_only=True):
    lines: Annotated[list[ReceiptLineIn], msgspec.Meta(min_length=1, max_length=MAX_ITEMS)]
    received_on: BusinessDate
    document_number: Reference | None = None
    """The BAST number."""
    note: Text1000 | None = None


class TreasuryPaymentCreate(BoundedDates, forbid_unknown_fields=True, kw_only=True):
    sp2d_number: Reference
    amount: Amount
    currency: Currency = "IDR"
    paid_on: BusinessDate


# --- responses -----------------------------------------------------------------------


class RfqItemOut(msgspec.Struct, kw_only=True):
    line_no: int
    product_id: uuid.UUID
    description: str
    quantity: int
    unit_code: str
    unit_label: str
    category: str
    vat_treatment: VatTreatment


class RfqDeliveryOut(msgspec.Struct, kw_only=True):
    date: dt.date
    region_code: str
    address: str


class RfqOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    buyer_organization_id: uuid.UUID
    title: str
    status: RfqStatus
    items: list[RfqItemOut]
    delivery: RfqDeliveryOut
    budget_code: str
    deadline: dt.datetime
    evaluation_rule: EvaluationRule
    ceiling_amount: int | None
    currency: Currency
    quote_count: int | None
    """Shown to the owning office and the platform once the deadline has passed."""
    purchase_order_id: uuid.UUID | None
    """The live purchase order, once awarded (owner and platform only)."""
    created_at: dt.datetime


class RfqPage(msgspec.Struct, kw_only=True):
    items: list[RfqOut]
    next_cursor: str | None


class QuoteLineOut(msgspec.Struct, kw_only=True):
    line_no: int
    unit_price: int
    amount: int


class QuoteOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    rfq_id: uuid.UUID
    supplier_organization_id: uuid.UUID
    status: QuoteStatus
    lines: list[QuoteLineOut]
    total: int
    currency: Currency
    delivery_promise_date: dt.date
    note: str | None
    submitted_at: dt.datetime
    rank: int | None = None
    """Position in the evaluation (1 = best), for the office after the deadline."""
    compliant: bool | None = None
    non_compliance: list[str] | None = None


class QuoteList(msgspec.Struct, kw_only=True):
    items: list[QuoteOut]


class PoLineOut(msgspec.Struct, kw_only=True):
    line_no: int
    product_id: uuid.UUID
    description: str
    unit_code: str
    vat_treatment: VatTreatment
    quantity: int
    unit_price: int
    amount: int
    received_quantity: int


class ReceiptOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    document_number: str | None
    received_on: dt.date
    lines: list[ReceiptLineIn]
    note: str | None
    created_at: dt.datetime


class PurchaseOrderOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    rfq_id: uuid.UUID
    quote_id: uuid.UUID
    buyer_organization_id: uuid.UUID
    supplier_organization_id: uuid.UUID
    status: PurchaseOrderStatus
    lines: list[PoLineOut]
    subtotal: int
    vat: int
    pph22: int
    """PPh 22 the treasurer will withhold on the order as placed."""
    total: int
    net_payable: int
    currency: Currency
    delivery_date: dt.date
    award_reason: str | None
    cascaded_from_id: uuid.UUID | None
    declined_at: dt.datetime | None
    decline_reason: str | None
    receipts: list[ReceiptOut]
    invoice_id: uuid.UUID | None
    created_at: dt.datetime


class PurchaseOrderPage(msgspec.Struct, kw_only=True):
    items: list[PurchaseOrderOut]
    next_cursor: str | None


class DeclineOut(msgspec.Struct, kw_only=True):
    declined: PurchaseOrderOut
    next_purchase_order: PurchaseOrderOut | None
    """The cascaded award, or null when no compliant quote was left."""
    rfq_status: RfqStatus


class InvoiceLineOut(msgspec.Struct, kw_only=True):
    line_no: int
    description: str
    quantity: int
    unit_price: int
    amount: int
    vat_treatment: VatTreatment


class TreasuryPaymentOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    invoice_id: uuid.UUID
    purchase_order_id: uuid.UUID
    sp2d_number: str
    amount: int
    currency: Currency
    paid_on: dt.date
    ledger_transaction_id: uuid.UUID
    created_at: dt.datetime


class InvoiceOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    purchase_order_id: uuid.UUID
    buyer_organization_id: uuid.UUID
    supplier_organization_id: uuid.UUID
    lines: list[InvoiceLineOut]
    subtotal: int
    taxable_base: int
    exempt_base: int
    dpp: int
    vat: int
    pph22: int
    total: int
    net_payable: int
    currency: Currency
    ledger_transaction_id: uuid.UUID
    payment: TreasuryPaymentOut | None
    created_at: dt.datetime
