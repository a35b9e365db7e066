from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.tax import (
    CATEGORY_VAT_TREATMENT,
    InvalidInvoiceLine,
    InvoiceLine,
    VatTreatment,
    category_vat_treatment,
    compute_invoice,
    dpp_for,
    pph22_for,
    vat_for,
)

EXEMPT = VatTreatment.EXEMPT
STANDARD = VatTreatment.STANDARD

bases = st.integers(min_value=0, max_value=10**13)
treatments = st.sampled_from(list(VatTreatment))
invoice_lines = st.builds(
    InvoiceLine,
    description=st.text(max_size=10),
    quantity=st.integers(min_value=1, max_value=10_000),
    unit_price=st.integers(min_value=0, max_value=10_000_000),
    treatment=treatments,
)


@pytest.mark.parametrize(
    ("base", "treatment", "expected"),
    [
        (10_000_000, STANDARD, 1_100_000),
        (100, STANDARD, 11),
        (99, STANDARD, 10),  # 10.89 rounds down
        (9, STANDARD, 0),  # 0.99 rounds down
        (0, STANDARD, 0),
        (15_700, STANDARD, 1_727),  # a litre of Minyakita at HET: 1,727.0
        (10_000_000, EXEMPT, 0),
    ],
)
def test_vat_for_examples(base: int, treatment: VatTreatment, expected: int) -> None:
    assert vat_for(base, treatment) == expected


def test_vat_for_accepts_the_plain_string_value() -> None:
    assert vat_for(1_000, "standard") == 110
    with pytest.raises(ValueError, match="luxury"):
        vat_for(1_000, "luxury")


def test_vat_for_refuses_a_negative_base() -> None:
    with pytest.raises(ValueError, match="negative"):
        vat_for(-1, STANDARD)


@given(base=bases, treatment=treatments)
def test_vat_is_a_non_negative_integer_and_exactly_11_percent_floored(
    base: int, treatment: VatTreatment
) -> None:
    vat = vat_for(base, treatment)
    assert isinstance(vat, int)
    assert vat >= 0
    if treatment is EXEMPT:
        assert vat == 0
    else:
        # 12% of the exact 11/12 DPP, i.e. 11%, rounded down once.
        exact = Fraction(12, 100) * Fraction(11, 12) * base
        assert vat <= exact < vat + 1


@given(lower=bases, extra=st.integers(min_value=0, max_value=10**9), treatment=treatments)
def test_vat_is_monotone_in_the_base(lower: int, extra: int, treatment: VatTreatment) -> None:
    assert vat_for(lower, treatment) <= vat_for(lower + extra, treatment)


@pytest.mark.parametrize(
    ("pre_vat_total", "expected"),
    [
        (10_000_000, 150_000),
        (2_000_000, 0),  # at most Rp2 juta: no withholding
        (2_000_001, 30_000),  # just over: 1.5% of the whole amount, floored
        (1, 0),
        (0, 0),
        (3_333_333, 49_999),  # 49,999.995 rounds down
    ],
)
def test_pph22_examples(pre_vat_total: int, expected: int) -> None:
    assert pph22_for(pre_vat_total) == expected


@pytest.mark.parametrize(
    ("taxable_base", "expected"),
    [(12, 11), (10_000_000, 9_166_666), (0, 0), (1, 0)],
)
def test_dpp_is_eleven_twelfths_floored(taxable_base: int, expected: int) -> None:
    assert dpp_for(taxable_base) == expected


def test_invoice_for_a_government_purchase_of_cooking_oil() -> None:
    totals = compute_invoice(
        [InvoiceLine("Minyak goreng 1 L", 1_000, 10_000, STANDARD)], withhold_pph22=True
    )
    assert totals.subtotal == 10_000_000
    assert totals.taxable_base == 10_000_000
    assert totals.exempt_base == 0
    assert totals.dpp == 9_166_666
    assert totals.vat == 1_100_000
    assert totals.pph22 == 150_000
    assert totals.total == 11_100_000
    assert totals.net_payable == 10_950_000
    assert totals.line_amounts == (10_000_000,)


def test_invoice_mixing_exempt_staples_and_taxable_goods() -> None:
    totals = compute_invoice(
        [
            InvoiceLine("Beras medium 5 kg", 100, 62_500, EXEMPT),
            InvoiceLine("Tepung terigu 1 kg", 50, 12_000, STANDARD),
            InvoiceLine("Telur ayam tray 30", 20, 55_000, EXEMPT),
        ],
        withhold_pph22=True,
    )
    assert totals.line_amounts == (6_250_000, 600_000, 1_100_000)
    assert totals.exempt_base == 7_350_000
    assert totals.taxable_base == 600_000
    assert totals.subtotal == 7_950_000
    assert totals.vat == 66_000
    # PPh 22 is an income tax on the whole purchase, staples included.
    assert totals.pph22 == 119_250
    assert totals.total == 8_016_000
    assert totals.net_payable == 7_896_750


def test_invoice_at_the_pph22_threshold_withholds_nothing() -> None:
    totals = compute_invoice(
        [InvoiceLine("Gula pasir 1 kg", 100, 20_000, EXEMPT)], withhold_pph22=True
    )
    assert totals.subtotal == 2_000_000
    assert totals.pph22 == 0
    assert totals.net_payable == totals.total == 2_000_000


def test_invoice_without_a_treasurer_never_withholds() -> None:
    totals = compute_invoice(
        [InvoiceLine("Minyak goreng 1 L", 1_000, 10_000, STANDARD)], withhold_pph22=False
    )
    assert totals.pph22 == 0
    assert totals.net_payable == totals.total


def test_invoice_vat_is_rounded_once_not_per_line() -> None:
    # Each line alone would carry 10.89 -> 10 of VAT (20 in all); together 21.78 -> 21.
    lines = [InvoiceLine("Bumbu", 1, 99, STANDARD), InvoiceLine("Bumbu", 1, 99, STANDARD)]
    assert compute_invoice(lines, withhold_pph22=False).vat == 21


def test_empty_invoice_is_all_zero() -> None:
    totals = compute_invoice([], withhold_pph22=True)
    assert (totals.subtotal, totals.vat, totals.pph22, totals.total) == (0, 0, 0, 0)
    assert totals.line_amounts == ()


@pytest.mark.parametrize(("quantity", "unit_price"), [(0, 1_000), (-1, 1_000), (1, -1)])
def test_invoice_refuses_impossible_lines(quantity: int, unit_price: int) -> None:
    with pytest.raises(InvalidInvoiceLine) as raised:
        compute_invoice(
            [InvoiceLine("ok", 1, 1, STANDARD), InvoiceLine("bad", quantity, unit_price, STANDARD)],
            withhold_pph22=False,
        )
    assert raised.value.code == "tax.invalid_invoice_line"
    assert raised.value.extra["line_index"] == 1


@given(lines=st.lists(invoice_lines, max_size=8), withhold=st.booleans())
def test_invoice_totals_are_consistent(lines: list[InvoiceLine], withhold: bool) -> None:
    totals = compute_invoice(lines, withhold_pph22=withhold)
    assert totals.line_amounts == tuple(line.quantity * line.unit_price for line in lines)
    assert totals.subtotal == sum(totals.line_amounts)
    assert totals.subtotal == totals.taxable_base + totals.exempt_base
    assert totals.vat == vat_for(totals.taxable_base, STANDARD)
    assert totals.total == totals.subtotal + totals.vat
    assert totals.net_payable == totals.total - totals.pph22
    assert 0 <= totals.pph22 <= totals.subtotal
    if not withhold or totals.subtotal <= 2_000_000:
        assert totals.pph22 == 0
    # Rounding once can only give more than rounding each taxable line, never less.
    per_line_vat = sum(vat_for(line.quantity * line.unit_price, line.treatment) for line in lines)
    assert per_line_vat <= totals.vat


@pytest.mark.parametrize(
    ("category", "expected"),
    [
        ("rice", EXEMPT),
        ("sugar", EXEMPT),
        ("eggs", EXEMPT),
        ("meat", EXEMPT),
        ("vegetables", EXEMPT),
        ("fruit", EXEMPT),
        ("oil", STANDARD),
        ("flour", STANDARD),
        ("spices", STANDARD),
        ("processed_food", STANDARD),
        ("other", STANDARD),
    ],
)
def test_category_defaults(category: str, expected: VatTreatment) -> None:
    assert category_vat_treatment(category) is expected


def test_every_category_has_a_default_and_unknown_ones_are_refused() -> None:
    assert len(CATEGORY_VAT_TREATMENT) == 11
    with pytest.raises(ValueError, match="unknown product category"):
        category_vat_treatment("electronics")
