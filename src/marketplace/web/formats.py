"""How the pages write money and dates: `Rp1.250.000`, `Rabu, 3 Desember 2026`."""

from __future__ import annotations

import datetime as dt

from babel.dates import format_date


def rupiah(amount: int) -> str:
    """Integer rupiah with dots between thousands, as Indonesians write prices."""
    sign = "-" if amount < 0 else ""
    return f"{sign}Rp{abs(amount):,}".replace(",", ".")


def long_date(day: dt.date, locale: str) -> str:
    """The weekday and the date in words (`Rabu, 3 Desember 2026`; `Wednesday, 3 December
    2026` in English)."""
    return format_date(day, "EEEE, d MMMM y", locale=locale)


def unit_suffix(name: str, unit_label: str) -> str:
    """` (papan)` after a product's name, unless the name already says its unit:
    "Tempe (papan)" stays as it is, "Beras medium" becomes "Beras medium (karung 5 kg)"."""
    unit = unit_label.strip()
    if not unit or unit.casefold() in name.casefold():
        return ""
    return f" ({unit})"
