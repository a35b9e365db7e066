"""Government sourcing rules (pure): state machines, award evaluation, receipts, invoices.

An RFQ is ``open`` until its deadline; quotes are sealed until then. After the deadline
the office awards the lowest *compliant* quote (or names one, with a reason), which
creates a purchase order. A supplier that declines its purchase order hands the award
down the ranking ("cascade"); when no compliant quote is left the RFQ has ``failed``.

Compliance: the quote covers every item (enforced when it is submitted), promises
delivery no later than the RFQ's delivery date, stays within the owner's estimate (HPS)
when the RFQ has one, and its supplier has not already declined this RFQ. Ranking:
lowest total, then earliest delivery promise, then earliest submission, then id — so
the same quotes always give the same award.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType

import msgspec

from marketplace.errors import Conflict, InvalidTransition, ValidationFailed
from marketplace.procurement.domain.errors import ReceiptExceedsOrder
from marketplace.tax import InvoiceLine, InvoiceTotals, VatTreatment, compute_invoice


class RfqStatus(enum.StrEnum):
    OPEN = "open"
    """Published; accepts quotes until the deadline (then effectively ``closed``)."""
    CLOSED = "closed"
    """Derived, never stored: open but past its deadline, waiting for an award."""
    AWARDED = "awarded"
    FAILED = "failed"
    """No compliant quote is left (none came, or every awarded supplier declined)."""


class EvaluationRule(enum.StrEnum):
    LOWEST_PRICE = "lowest_price"


class QuoteStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    AWARDED = "awarded"
    DECLINED = "declined"
    """The supplier declined the purchase order its quote won."""


class PurchaseOrderStatus(enum.StrEnum):
    ISSUED = "issued"
    DECLINED = "declined"
    PARTIALLY_RECEIVED = "partially_received"
    RECEIVED = "received"
    INVOICED = "invoiced"
    PAID = "paid"


class PurchaseOrderEvent(enum.StrEnum):
    DECLINE = "decline"
    RECEIVE_PART = "receive_part"
    RECEIVE_ALL = "receive_all"
    INVOICE = "invoice"
    PAY = "pay"


_PO = PurchaseOrderStatus
_EV = PurchaseOrderEvent
PO_TRANSITIONS: Mapping[tuple[PurchaseOrderStatus, PurchaseOrderEvent], PurchaseOrderStatus] = (
    MappingProxyType(
        {
            (_PO.ISSUED, _EV.DECLINE): _PO.DECLINED,
            (_PO.ISSUED, _EV.RECEIVE_PART): _PO.PARTIALLY_RECEIVED,
            (_PO.ISSUED, _EV.RECEIVE_ALL): _PO.RECEIVED,
            (_PO.PARTIALLY_RECEIVED, _EV.RECEIVE_PART): _PO.PARTIALLY_RECEIVED,
            (_PO.PARTIALLY_RECEIVED, _EV.RECEIVE_ALL): _PO.RECEIVED,
            (_PO.PARTIALLY_RECEIVED, _EV.INVOICE): _PO.INVOICED,
            (_PO.RECEIVED, _EV.INVOICE): _PO.INVOICED,
            (_PO.INVOICED, _EV.PAY): _PO.PAID,
        }
    )
)
"""Every legal purchase-order transition. A purchase order can be declined only before
anything was received; it is invoiced once, on what was received, and then paid."""


def next_po_status(current: PurchaseOrderStatus, event: PurchaseOrderEvent) -> PurchaseOrderStatus:
    """The status after `event`. Invoicing an issued order is refused for what it is —
    nothing has been received yet (422 `procurement.nothing_received`) — rather than as a
    bare invalid transition; every other pair not in `PO_TRANSITIONS` is 409."""
    if event is PurchaseOrderEvent.INVOICE and current is PurchaseOrderStatus.ISSUED:
        raise NothingReceived(
            "Record a goods receipt (BAST) before invoicing.", status=current.value
        )
    try:
        return PO_TRANSITIONS[(current, event)]
    except KeyError:
        raise InvalidTransition(
            f"A purchase order that is {current.value} cannot take '{event.value}'.",
            **{"from": current.value, "event": event.value},
        ) from None


def effective_rfq_status(stored: RfqStatus, deadline: dt.datetime, now: dt.datetime) -> RfqStatus:
    if stored is RfqStatus.OPEN and now >= deadline:
        return RfqStatus.CLOSED
    return stored


# --- errors --------------------------------------------------------------------------


class RfqNotOpen(Conflict):
    code = "procurement.rfq_not_open"
    title = "The RFQ no longer accepts quotes"


class RfqStillOpen(Conflict):
    code = "procurement.rfq_still_open"
    title = "Quotes are sealed until the RFQ's deadline"


class AlreadyAwarded(Conflict):
    code = "procurement.rfq_already_awarded"
    title = "The RFQ has already been awarded or has failed"


class QuoteIncomplete(ValidationFailed):
    code = "procurement.quote_incomplete"
    title = "A quote must price every item of the RFQ exactly once"


class QuoteNotCompliant(ValidationFailed):
    code = "procurement.quote_not_compliant"
    title = "The named quote is not compliant"


class NoCompliantQuote(ValidationFailed):
    code = "procurement.no_compliant_quote"
    title = "No compliant quote can be awarded"


class InvalidReceipt(ValidationFailed):
    code = "procurement.invalid_receipt"
    title = "A goods receipt needs known lines and a positive total"


class NothingReceived(ValidationFailed):
    code = "procurement.nothing_received"
    title = "Nothing has been received, so there is nothing to invoice"


class PaymentMismatch(ValidationFailed):
    code = "procurement.payment_amount_mismatch"
    title = "The payment must equal the invoice's net payable"


class InvalidRfq(ValidationFailed):
    code = "procurement.invalid_rfq"
    title = "The RFQ is not valid"


# --- values --------------------------------------------------------------------------


class RfqItem(msgspec.Struct, frozen=True, kw_only=True):
    line_no: int
    product_id: uuid.UUID
    quantity: int
    description: str
    unit_code: str
    unit_label: str
    category: str
    vat_treatment: VatTreatment


class QuoteCandidate(msgspec.Struct, frozen=True, kw_only=True):
    quote_id: uuid.UUID
    supplier_id: uuid.UUID
    unit_prices: Mapping[int, int]
    """line_no → unit price (pre-VAT rupiah)."""
    delivery_promise: dt.date
    submitted_at: dt.datetime
    status: QuoteStatus = QuoteStatus.SUBMITTED


class RankedQuote(msgspec.Struct, frozen=True, kw_only=True):
    quote: QuoteCandidate
    total: int
    compliant: bool
    reasons: tuple[str, ...]


class PoLine(msgspec.Struct, frozen=True, kw_only=True):
    line_no: int
    product_id: uuid.UUID
    description: str
    unit_code: str
    vat_treatment: VatTreatment
    quantity: int
    unit_price: int
    received_quantity: int = 0


# --- rules ---------------------------------------------------------------------------


def check_quote_covers(items: Sequence[RfqItem], unit_prices: Mapping[int, int]) -> None:
    """A quote prices every item, and nothing else, at a positive unit price."""
    wanted = {item.line_no for item in items}
    missing = sorted(wanted - set(unit_prices))
    unknown = sorted(set(unit_prices) - wanted)
    if missing or unknown:
        raise QuoteIncomplete(
            "A quote must give a unit price for every item of the RFQ, and only for those.",
            missing_lines=missing,
            unknown_lines=unknown,
        )
    bad = sorted(line for line, price in unit_prices.items() if price <= 0)
    if bad:
        raise QuoteIncomplete("Unit prices must be positive.", lines=bad)


def quote_total(items: Sequence[RfqItem], unit_prices: Mapping[int, int]) -> int:
    return sum(item.quantity * unit_prices[item.line_no] for item in items)


def evaluate(
    items: Sequence[RfqItem],
    quotes: Iterable[QuoteCandidate],
    *,
    delivery_date: dt.date,
    ceiling: int | None,
) -> list[RankedQuote]:
    """Every quote ranked best first, compliant ones before the rest."""
    declined_suppliers = {q.supplier_id for q in quotes if q.status is QuoteStatus.DECLINED}
    ranked: list[RankedQuote] = []
    for quote in quotes:
        reasons: list[str] = []
        if set(quote.unit_prices) != {item.line_no for item in items}:
            reasons.append("does not price every item")
            total = 0
        else:
            total = quote_total(items, quote.unit_prices)
        if quote.delivery_promise > delivery_date:
            reasons.append("delivery promised after the required date")
        if ceiling is not None and total > ceiling:
            reasons.append("above the owner's estimate (HPS)")
        if quote.status is not QuoteStatus.SUBMITTED or quote.supplier_id in declined_suppliers:
            reasons.append(f"quote is {quote.status.value}")
        ranked.append(
            RankedQuote(quote=quote, total=total, compliant=not reasons, reasons=tuple(reasons))
        )
    ranked.sort(
        key=lambda r: (
            not r.compliant,
            r.total,
            r.quote.delivery_promise,
            r.quote.submitted_at,
            r.quote.quote_id,
        )
    )
    return ranked


def choose_award(
    ranked: Sequence[RankedQuote], *, named: uuid.UUID | None = None
) -> RankedQuote | None:
    """The lowest compliant quote, or the named one (which must be compliant).

    ``None`` when no compliant quote is left: the RFQ has failed.
    """
    if named is not None:
        for r in ranked:
            if r.quote.quote_id == named:
                if not r.compliant:
                    raise QuoteNotCompliant(
                        "The named quote cannot be awarded: " + "; ".join(r.reasons) + ".",
                        quote_id=named,
                        reasons=list(r.reasons),
                    )
                return r
        raise QuoteNotCompliant("The named quote is not a quote on this RFQ.", quote_id=named)
    return next((r for r in ranked if r.compliant), None)


def po_lines(items: Sequence[RfqItem], quote: QuoteCandidate) -> list[PoLine]:
    return [
        PoLine(
            line_no=item.line_no,
            product_id=item.product_id,
            description=item.description,
            unit_code=item.unit_code,
            vat_treatment=item.vat_treatment,
            quantity=item.quantity,
            unit_price=quote.unit_prices[item.line_no],
        )
        for item in items
    ]


def order_totals(lines: Sequence[PoLine]) -> InvoiceTotals:
    """What the purchase order is worth as ordered, with VAT and PPh 22."""
    return compute_invoice(
        (
            InvoiceLine(
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                treatment=line.vat_treatment,
            )
            for line in lines
        ),
        withhold_pph22=True,
    )


def apply_receipt(lines: Sequence[PoLine], received: Mapping[int, int]) -> list[PoLine]:
    """The lines after a goods receipt; refuses over-receipt and unknown lines."""
    by_line = {line.line_no: line for line in lines}
    unknown = sorted(set(received) - set(by_line))
    if unknown:
        raise InvalidReceipt("The receipt names lines the order does not have.", lines=unknown)
    if any(q < 0 for q in received.values()) or sum(received.values()) <= 0:
        raise InvalidReceipt("Received quantities must be non-negative and not all zero.")
    over = [
        {
            "line_no": n,
            "ordered": by_line[n].quantity,
            "already_received": by_line[n].received_quantity,
            "receiving": q,
        }
        for n, q in sorted(received.items())
        if by_line[n].received_quantity + q > by_line[n].quantity
    ]
    if over:
        first = over[0]
        raise ReceiptExceedsOrder(
            f"Line {first['line_no']} would receive "
            f"{first['already_received'] + first['receiving']} of {first['ordered']} ordered.",
            lines=over,
        )
    return [
        msgspec.structs.replace(
            line, received_quantity=line.received_quantity + received.get(line.line_no, 0)
        )
        for line in lines
    ]


def receipt_event(lines: Sequence[PoLine]) -> PurchaseOrderEvent:
    if all(line.received_quantity == line.quantity for line in lines):
        return PurchaseOrderEvent.RECEIVE_ALL
    return PurchaseOrderEvent.RECEIVE_PART


def invoice_lines(lines: Sequence[PoLine]) -> list[InvoiceLine]:
    """The invoice covers what was received (lines with nothing received are left out)."""
    out = [
        InvoiceLine(
            description=line.description,
            quantity=line.received_quantity,
            unit_price=line.unit_price,
            treatment=line.vat_treatment,
        )
        for line in lines
        if line.received_quantity > 0
    ]
    if not out:
        raise NothingReceived("Record a goods receipt (BAST) before invoicing.")
    return out


def invoice_totals(lines: Sequence[PoLine]) -> InvoiceTotals:
    """VAT per treatment and PPh 22 on the received value (`tax.compute_invoice`).

    One invoice per purchase order, so the invoice is the whole (unsplit) purchase and
    the Rp2,000,000 PPh 22 floor applies to it.
    """
    return compute_invoice(invoice_lines(lines), withhold_pph22=True)


def check_payment(amount: int, net_payable: int) -> None:
    if amount != net_payable:
        raise PaymentMismatch(
            f"The payment is Rp{amount} but the invoice's net payable is Rp{net_payable}.",
            amount=amount,
            net_payable=net_payable,
        )


def city_prefix(region_code: str) -> str:
    """``35.76.02.1003`` → ``35.76`` (province.city)."""
    return ".".join(region_code.split(".")[:2])


def same_city(a: str, b: str) -> bool:
    return len(a.split(".")) >= 2 and city_prefix(a) == city_prefix(b)
