"""Government sourcing rules: award evaluation and cascade, receipts, invoice totals."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.errors import InvalidTransition
from marketplace.procurement.sourcing import domain
from marketplace.procurement.sourcing.domain import (
    PurchaseOrderEvent as Ev,
)
from marketplace.procurement.sourcing.domain import (
    PurchaseOrderStatus as St,
)
from marketplace.procurement.sourcing.domain import (
    QuoteCandidate,
    QuoteStatus,
    RfqItem,
    RfqStatus,
)
from marketplace.tax import VatTreatment

DELIVERY = dt.date(2026, 12, 1)
T0 = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)
RICE = RfqItem(
    line_no=1,
    product_id=uuid.uuid4(),
    quantity=100,
    description="Beras 5 kg",
    unit_code="XSA",
    unit_label="karung",
    category="rice",
    vat_treatment=VatTreatment.EXEMPT,
)
OIL = RfqItem(
    line_no=2,
    product_id=uuid.uuid4(),
    quantity=200,
    description="Minyakita 1 L",
    unit_code="XBO",
    unit_label="botol",
    category="oil",
    vat_treatment=VatTreatment.STANDARD,
)
ITEMS = [RICE, OIL]


def q(
    rice: int,
    oil: int,
    *,
    n: int = 0,
    promise: dt.date = DELIVERY,
    status: QuoteStatus = QuoteStatus.SUBMITTED,
) -> QuoteCandidate:
    return QuoteCandidate(
        quote_id=uuid.UUID(int=n + 1),
        supplier_id=uuid.UUID(int=1000 + n),
        unit_prices={1: rice, 2: oil},
        delivery_promise=promise,
        submitted_at=T0 + dt.timedelta(minutes=n),
        status=status,
    )


def test_lowest_compliant_total_wins_and_late_promises_are_not_compliant() -> None:
    quotes = [
        q(64_000, 15_000, n=0),  # 9,400,000
        q(63_000, 15_200, n=1),  # 9,340,000
        q(50_000, 10_000, n=2, promise=DELIVERY + dt.timedelta(days=1)),  # cheapest, late
    ]
    ranked = domain.evaluate(ITEMS, quotes, delivery_date=DELIVERY, ceiling=None)
    assert [(r.total, r.compliant) for r in ranked] == [
        (9_340_000, True),
        (9_400_000, True),
        (7_000_000, False),
    ]
    assert ranked[2].reasons == ("delivery promised after the required date",)
    assert domain.choose_award(ranked) == ranked[0]


def test_owner_estimate_caps_compliance() -> None:
    ranked = domain.evaluate(ITEMS, [q(64_000, 15_000)], delivery_date=DELIVERY, ceiling=9_000_000)
    assert not ranked[0].compliant
    assert domain.choose_award(ranked) is None


def test_ties_go_to_earlier_promise_then_earlier_submission() -> None:
    early = q(63_000, 15_200, n=5, promise=DELIVERY - dt.timedelta(days=2))
    first = q(63_000, 15_200, n=1)
    second = q(63_000, 15_200, n=2)
    ranked = domain.evaluate(ITEMS, [second, first, early], delivery_date=DELIVERY, ceiling=None)
    assert [r.quote for r in ranked] == [early, first, second]


def test_cascade_skips_declined_quotes_and_fails_when_none_is_left() -> None:
    quotes = [q(63_000, 15_200, n=1, status=QuoteStatus.DECLINED), q(64_000, 15_000, n=0)]
    ranked = domain.evaluate(ITEMS, quotes, delivery_date=DELIVERY, ceiling=None)
    assert domain.choose_award(ranked).quote.quote_id == uuid.UUID(int=1)  # type: ignore[union-attr]
    only_declined = domain.evaluate(ITEMS, quotes[:1], delivery_date=DELIVERY, ceiling=None)
    assert domain.choose_award(only_declined) is None


def test_a_named_quote_must_be_compliant_and_exist() -> None:
    late = q(50_000, 10_000, n=2, promise=DELIVERY + dt.timedelta(days=1))
    ranked = domain.evaluate(ITEMS, [q(64_000, 15_000), late], delivery_date=DELIVERY, ceiling=None)
    assert domain.choose_award(ranked, named=uuid.UUID(int=1)) == ranked[0]
    with pytest.raises(domain.QuoteNotCompliant):
        domain.choose_award(ranked, named=late.quote_id)
    with pytest.raises(domain.QuoteNotCompliant):
        domain.choose_award(ranked, named=uuid.uuid4())


@given(st.permutations(range(6)))
def test_evaluation_does_not_depend_on_input_order(order: list[int]) -> None:
    quotes = [q(60_000 + (n % 3) * 1000, 15_000, n=n) for n in range(6)]
    baseline = domain.evaluate(ITEMS, quotes, delivery_date=DELIVERY, ceiling=None)
    shuffled = domain.evaluate(
        ITEMS, [quotes[i] for i in order], delivery_date=DELIVERY, ceiling=None
    )
    assert [r.quote.quote_id for r in shuffled] == [r.quote.quote_id for r in baseline]


def test_quote_must_price_every_item_once() -> None:
    with pytest.raises(domain.QuoteIncomplete) as missing:
        domain.check_quote_covers(ITEMS, {1: 60_000})
    assert missing.value.extra["missing_lines"] == [2]
    with pytest.raises(domain.QuoteIncomplete):
        domain.check_quote_covers(ITEMS, {1: 60_000, 2: 1, 3: 5})
    with pytest.raises(domain.QuoteIncomplete):
        domain.check_quote_covers(ITEMS, {1: 0, 2: 1})
    domain.check_quote_covers(ITEMS, {1: 60_000, 2: 15_000})


def test_order_totals_vat_on_taxable_lines_and_pph22() -> None:
    lines = domain.po_lines(ITEMS, q(63_000, 15_200))
    totals = domain.order_totals(lines)
    assert (totals.subtotal, totals.taxable_base, totals.vat) == (9_340_000, 3_040_000, 334_400)
    assert (totals.pph22, totals.total, totals.net_payable) == (140_100, 9_674_400, 9_534_300)


def test_partial_receipts_add_up_and_over_receipt_is_refused() -> None:
    lines = domain.po_lines(ITEMS, q(64_000, 15_000))
    after = domain.apply_receipt(lines, {1: 60, 2: 200})
    assert domain.receipt_event(after) is Ev.RECEIVE_PART
    with pytest.raises(domain.ReceiptExceedsOrder) as over:
        domain.apply_receipt(after, {1: 41})
    assert over.value.extra["lines"] == [
        {"line_no": 1, "ordered": 100, "already_received": 60, "receiving": 41}
    ]
    with pytest.raises(domain.InvalidReceipt):
        domain.apply_receipt(after, {3: 1})
    with pytest.raises(domain.InvalidReceipt):
        domain.apply_receipt(after, {1: 0})
    full = domain.apply_receipt(after, {1: 40})
    assert domain.receipt_event(full) is Ev.RECEIVE_ALL


@pytest.mark.parametrize(
    ("received", "subtotal", "vat", "pph22", "net"),
    [
        # rice 90 x 64,000 exempt + oil 200 x 15,000 taxable (11% effective)
        ({1: 90, 2: 200}, 8_760_000, 330_000, 131_400, 8_958_600),
        # only exempt rice, under Rp2,000,000 → no PPh 22
        ({1: 31, 2: 0}, 1_984_000, 0, 0, 1_984_000),
        # one bottle of oil taxable: 15,000 → VAT 1,650, under the PPh 22 floor
        ({2: 1}, 15_000, 1_650, 0, 16_650),
    ],
)
def test_invoice_on_received_quantities(
    received: dict[int, int], subtotal: int, vat: int, pph22: int, net: int
) -> None:
    lines = domain.apply_receipt(domain.po_lines(ITEMS, q(64_000, 15_000)), received)
    totals = domain.invoice_totals(lines)
    assert (totals.subtotal, totals.vat, totals.pph22, totals.net_payable) == (
        subtotal,
        vat,
        pph22,
        net,
    )


@pytest.mark.parametrize(
    ("amount", "pph22"), [(2_000_000, 0), (2_000_001, 30_000), (2_000_100, 30_001)]
)
def test_pph22_floor_is_inclusive(amount: int, pph22: int) -> None:
    item = RfqItem(
        line_no=1,
        product_id=uuid.uuid4(),
        quantity=1,
        description="Beras",
        unit_code="XSA",
        unit_label="karung",
        category="rice",
        vat_treatment=VatTreatment.EXEMPT,
    )
    lines = domain.po_lines(
        [item],
        QuoteCandidate(
            quote_id=uuid.uuid4(),
            supplier_id=uuid.uuid4(),
            unit_prices={1: amount},
            delivery_promise=DELIVERY,
            submitted_at=T0,
        ),
    )
    lines = domain.apply_receipt(lines, {1: 1})
    assert domain.invoice_totals(lines).pph22 == pph22


def test_nothing_received_cannot_be_invoiced() -> None:
    with pytest.raises(domain.NothingReceived):
        domain.invoice_totals(domain.po_lines(ITEMS, q(1, 1)))


def test_purchase_order_state_machine() -> None:
    assert domain.next_po_status(St.ISSUED, Ev.DECLINE) is St.DECLINED
    assert domain.next_po_status(St.PARTIALLY_RECEIVED, Ev.INVOICE) is St.INVOICED
    assert domain.next_po_status(St.INVOICED, Ev.PAY) is St.PAID
    for status, event in [
        (St.PARTIALLY_RECEIVED, Ev.DECLINE),
        (St.DECLINED, Ev.INVOICE),
        (St.PAID, Ev.PAY),
        (St.INVOICED, Ev.RECEIVE_PART),
        (St.DECLINED, Ev.RECEIVE_ALL),
    ]:
        with pytest.raises(InvalidTransition):
            domain.next_po_status(status, event)
    # Invoicing before any goods receipt: the specific reason, not a bare transition.
    with pytest.raises(domain.NothingReceived):
        domain.next_po_status(St.ISSUED, Ev.INVOICE)


def test_payment_must_equal_net_payable_and_rfq_closes_at_deadline() -> None:
    domain.check_payment(8_958_600, 8_958_600)
    with pytest.raises(domain.PaymentMismatch):
        domain.check_payment(9_090_000, 8_958_600)
    assert domain.effective_rfq_status(RfqStatus.OPEN, T0, T0) is RfqStatus.CLOSED
    assert (
        domain.effective_rfq_status(RfqStatus.OPEN, T0, T0 - dt.timedelta(seconds=1))
        is RfqStatus.OPEN
    )
    assert domain.effective_rfq_status(RfqStatus.AWARDED, T0, T0) is RfqStatus.AWARDED
    assert domain.same_city("35.76.02.1005", "35.76")
    assert not domain.same_city("35.72.01", "35.76")
