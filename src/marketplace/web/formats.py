"""How the pages write money, dates and shares: `Rp1.250.000`, `Rabu, 3 Desember 2026`,
`12,5 %`."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from babel.dates import format_date
from babel.numbers import format_decimal


def rupiah(amount: int) -> str:
    """Integer rupiah with dots between thousands, as Indonesians write prices."""
    sign = "-" if amount < 0 else ""
    return f"{sign}Rp{abs(amount):,}".replace(",", ".")


def long_date(day: dt.date, locale: str) -> str:
    """The weekday and the date in words (`Rabu, 3 Desember 2026`; `Wednesday, 3 December
    2026` in English)."""
    return format_date(day, "EEEE, d MMMM y", locale=locale)


def percent(bps: int, locale: str) -> str:
    """Basis points as a percentage to a tenth, as the page's language writes it: `12,5 %`
    and `1.234,5 %` in Indonesian (decimal comma), `12.5 %` in English; a half tenth rounds
    away from zero."""
    tenths = Decimal(bps).scaleb(-2).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{format_decimal(tenths, format='#,##0.0', locale=locale)} %"


def unit_suffix(name: str, unit_label: str) -> str:
    """` (papan)` after a product's name, unless the name already says its unit:
    "Tempe (papan)" stays as it is, "Beras medium" becomes "Beras medium (karung 5 kg)"."""
    unit = unit_label.strip()
    if not unit or unit.casefold() in name.casefold():
        return ""
    return f" ({unit})"
