"""Document numbers: `SJ/KKMP-MAGERSARI/2026/000123`.

One series per issuer, per series prefix and per year (the issuer's local year of the
document's date); the database hands out the sequence (`documents_counters`), this module
only says which series a kind is in and how its number is written. Both kinds of invoice
(an order's and a government purchase order's) are one series, as a seller keeps one
invoice book.
"""

from __future__ import annotations

import re

from marketplace.documents.domain import DocumentKind

SERIES: dict[DocumentKind, str] = {
    DocumentKind.DELIVERY_NOTE: "SJ",
    DocumentKind.GOODS_RECEIPT: "BAST",
    DocumentKind.INVOICE: "INV",
    DocumentKind.PO_INVOICE: "INV",
    DocumentKind.CONSIGNMENT_STATEMENT: "LK",
}
MAX_CODE = 24
SEQUENCE_DIGITS = 6


def series_of(kind: DocumentKind) -> str:
    return SERIES[kind]


def issuer_code(slug: str) -> str:
    """The issuer's part of a number: its slug in capitals, letters, digits and dashes
    only, at most 24 characters (`kkmp-magersari` → `KKMP-MAGERSARI`)."""
    code = re.sub(r"[^A-Z0-9]+", "-", slug.upper()).strip("-")[:MAX_CODE].strip("-")
    return code or "ORG"


def document_number(kind: DocumentKind, code: str, year: int, sequence: int) -> str:
    if sequence < 1:
        raise ValueError("a sequence starts at 1")
    return f"{series_of(kind)}/{code}/{year}/{sequence:0{SEQUENCE_DIGITS}d}"


__all__ = ["SERIES", "document_number", "issuer_code", "series_of"]
