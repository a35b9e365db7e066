"""What an order leg's paper says it is worth: quantity times unit price, VAT per leg.

The same rule the orders context applies at goods receipt (`tax.vat_for` on each leg's
delivered subtotal, rounded down per leg), so the invoice, the ledger and the order agree
to the rupiah.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from marketplace.tax import VatTreatment, vat_for


class PricedQuantity(msgspec.Struct, frozen=True, kw_only=True):
    quantity: int
    unit_price: int
    vat_treatment: str


class Totals(msgspec.Struct, frozen=True, kw_only=True):
    line_amounts: list[int]
    subtotal: int
    taxable_base: int
    vat: int
    total: int


def rupiah(amount: int) -> str:
    """`Rp1.250.000`: dots between thousands, as Indonesians write amounts."""
    sign = "-" if amount < 0 else ""
    return f"{sign}Rp{abs(amount):,}".replace(",", ".")


def totals_of(items: Sequence[PricedQuantity]) -> Totals:
    amounts = [item.quantity * item.unit_price for item in items]
    vat = sum(
        vat_for(amount, item.vat_treatment) for amount, item in zip(amounts, items, strict=True)
    )
    taxable = sum(
        amount
        for amount, item in zip(amounts, items, strict=True)
        if VatTreatment(item.vat_treatment) is VatTreatment.STANDARD
    )
    subtotal = sum(amounts)
    return Totals(
        line_amounts=amounts, subtotal=subtotal, taxable_base=taxable, vat=vat, total=subtotal + vat
    )


__all__ = ["PricedQuantity", "Totals", "rupiah", "totals_of"]
