"""Indonesian VAT (PPN) and income-tax withholding (PPh 22), in whole rupiah.

Unit prices in this system are pre-VAT. VAT is 12% of a tax base (DPP) of 11/12 of the
price, so effectively 11%; basic staples are exempt. A government treasurer withholds
PPh 22 at 1.5% of the pre-VAT price unless the whole (unsplit) purchase is at most
Rp2,000,000. Everything is integer arithmetic, rounded down once per invoice: VAT is
computed on the sum of the taxable lines, never line by line, so an invoice's VAT does
not depend on how its lines happen to be cut.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping

import msgspec

from marketplace.errors import ValidationFailed
from marketplace.money import Rupiah, apply_basis_points

VAT_RATE_PERCENT = 12
DPP_NUMERATOR = 11
DPP_DENOMINATOR = 12
PPH22_RATE_BPS = 150
PPH22_EXEMPT_UP_TO: Rupiah = 2_000_000


class VatTreatment(enum.StrEnum):
    EXEMPT = "exempt"
    """Basic staples: rice, maize, sago, soybeans, salt, meat, eggs, milk, fruit,
    vegetables, and sugar for consumption."""
    STANDARD = "standard"


CATEGORY_VAT_TREATMENT: Mapping[str, VatTreatment] = {
    "rice": VatTreatment.EXEMPT,
    "sugar": VatTreatment.EXEMPT,
    "eggs": VatTreatment.EXEMPT,
    "meat": VatTreatment.EXEMPT,
    "vegetables": VatTreatment.EXEMPT,
    "fruit": VatTreatment.EXEMPT,
    "oil": VatTreatment.STANDARD,
    "flour": VatTreatment.STANDARD,
    "spices": VatTreatment.STANDARD,
    "processed_food": VatTreatment.STANDARD,
    "other": VatTreatment.STANDARD,
}
"""Default treatment per product category; a product may override it (e.g. salt, which
is exempt but sits under ``spices``)."""


class InvalidInvoiceLine(ValidationFailed):
    code = "tax.invalid_invoice_line"
    title = "An invoice line has an impossible quantity or price"


def category_vat_treatment(category: str) -> VatTreatment:
    """The default VAT treatment for a product category.

    Unknown categories raise ``ValueError`` rather than defaulting, because a typo that
    silently taxes (or exempts) a product is worse than a loud failure.
    """
    try:
        return CATEGORY_VAT_TREATMENT[category]
    except KeyError:
        raise ValueError(f"unknown product category {category!r}") from None


def dpp_for(taxable_base: Rupiah) -> Rupiah:
    """The VAT tax base (DPP "nilai lain"): 11/12 of the pre-VAT price, rounded down."""
    _require_non_negative(taxable_base)
    return taxable_base * DPP_NUMERATOR // DPP_DENOMINATOR


def vat_for(base: Rupiah, treatment: VatTreatment | str) -> Rupiah:
    """VAT on a pre-VAT ``base``: 12% of 11/12 of it, rounded down once.

    The 12% applies to the exact 11/12 fraction, not to the rounded DPP, which is what
    makes the effective rate exactly 11%.
    """
    _require_non_negative(base)
    if VatTreatment(treatment) is VatTreatment.EXEMPT:
        return 0
    return base * DPP_NUMERATOR * VAT_RATE_PERCENT // (DPP_DENOMINATOR * 100)


def pph22_for(pre_vat_total: Rupiah) -> Rupiah:
    """PPh 22 a government treasurer withholds on a whole purchase.

    ``pre_vat_total`` must be the whole purchase: the Rp2,000,000 floor is for purchases
    that are not split up to stay under it.
    """
    _require_non_negative(pre_vat_total)
    if pre_vat_total <= PPH22_EXEMPT_UP_TO:
        return 0
    return apply_basis_points(pre_vat_total, PPH22_RATE_BPS)


class InvoiceLine(msgspec.Struct, frozen=True):
    description: str
    quantity: int
    unit_price: Rupiah
    treatment: VatTreatment

    @property
    def amount(self) -> Rupiah:
        return self.quantity * self.unit_price


class InvoiceTotals(msgspec.Struct, frozen=True, kw_only=True):
    subtotal: Rupiah
    """All lines before VAT."""
    taxable_base: Rupiah
    """The part of ``subtotal`` that carries VAT."""
    exempt_base: Rupiah
    dpp: Rupiah
    """11/12 of ``taxable_base``, rounded down; shown on the tax invoice (e-Faktur)."""
    vat: Rupiah
    pph22: Rupiah
    """Withheld by the buyer's treasurer; 0 unless withholding applies."""
    total: Rupiah
    """``subtotal + vat``: what the invoice is for."""
    net_payable: Rupiah
    """``total - pph22``: what the buyer actually transfers."""
    line_amounts: tuple[Rupiah, ...]
    """``quantity * unit_price`` per input line, in input order."""


def compute_invoice(lines: Iterable[InvoiceLine], *, withhold_pph22: bool) -> InvoiceTotals:
    """Totals for an invoice: VAT on the summed taxable lines, PPh 22 on the subtotal.

    PPh 22 is an income tax on the sale, so it is computed on the whole pre-VAT
    subtotal, exempt staples included.
    """
    line_amounts: list[Rupiah] = []
    taxable_base = 0
    exempt_base = 0
    for index, line in enumerate(lines):
        if line.quantity <= 0 or line.unit_price < 0:
            raise InvalidInvoiceLine(
                f"line {index + 1} ({line.description!r}) needs a positive quantity and a "
                "non-negative unit price",
                line_index=index,
                quantity=line.quantity,
                unit_price=line.unit_price,
            )
        amount = line.amount
        line_amounts.append(amount)
        if VatTreatment(line.treatment) is VatTreatment.EXEMPT:
            exempt_base += amount
        else:
            taxable_base += amount

    subtotal = taxable_base + exempt_base
    vat = vat_for(taxable_base, VatTreatment.STANDARD)
    pph22 = pph22_for(subtotal) if withhold_pph22 else 0
    total = subtotal + vat
    return InvoiceTotals(
        subtotal=subtotal,
        taxable_base=taxable_base,
        exempt_base=exempt_base,
        dpp=dpp_for(taxable_base),
        vat=vat,
        pph22=pph22,
        total=total,
        net_payable=total - pph22,
        line_amounts=tuple(line_amounts),
    )


def _require_non_negative(amount: Rupiah) -> None:
    if amount < 0:
        raise ValueError(f"a tax base cannot be negative, got {amount}")
