"""The documents' vocabulary: kinds, the facts a document was issued with, its errors.

A document's facts (parties, lines, totals, tax lines) are frozen when it is issued and
stored with it; the PDF and the public verification page are both made from them, so a
re-download is the same paper and a later change to the order cannot alter what a printed
copy is checked against.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid

import msgspec

from marketplace.errors import Conflict


class DocumentKind(enum.StrEnum):
    DELIVERY_NOTE = "delivery_note"
    """Surat jalan: what left the supplier for one order leg."""
    GOODS_RECEIPT = "goods_receipt"
    """BAST (berita acara serah terima): what the buyer received of one leg."""
    INVOICE = "invoice"
    """One supplier's invoice for what it delivered of one order."""
    PO_INVOICE = "po_invoice"
    """The invoice of a government purchase order (PPN, PPh 22)."""
    CONSIGNMENT_STATEMENT = "consignment_statement"
    """Laporan konsinyasi: one settlement statement of a consignor."""


TITLES: dict[DocumentKind, str] = {
    DocumentKind.DELIVERY_NOTE: "SURAT JALAN",
    DocumentKind.GOODS_RECEIPT: "BERITA ACARA SERAH TERIMA BARANG",
    DocumentKind.INVOICE: "FAKTUR / INVOICE",
    DocumentKind.PO_INVOICE: "FAKTUR / INVOICE PENGADAAN",
    DocumentKind.CONSIGNMENT_STATEMENT: "LAPORAN KONSINYASI",
}


class DocumentNotReady(Conflict):
    code = "documents.not_ready"
    title = "This document can't be issued yet"


class Party(msgspec.Struct, frozen=True, kw_only=True):
    organization_id: uuid.UUID
    name: str
    npwp: str | None
    city: str


class Fact(msgspec.Struct, frozen=True):
    """One labelled fact in a document's head (`No. pesanan`, `Alamat kirim`)."""

    label: str
    value: str


class Line(msgspec.Struct, frozen=True, kw_only=True):
    description: str
    quantity: int
    unit: str
    unit_price: int
    amount: int
    note: str | None = None


class TaxLine(msgspec.Struct, frozen=True):
    """A tax under the subtotal: added (PPN) or withheld (PPh 22, negative)."""

    label: str
    amount: int


class DocumentFacts(msgspec.Struct, frozen=True, kw_only=True):
    kind: DocumentKind
    issuer: Party
    counterparty: Party
    counterparty_role: str
    issued_on: dt.date
    head: list[Fact] = []
    lines: list[Line] = []
    subtotal: int
    tax_lines: list[TaxLine] = []
    total: int
    total_label: str = "Total"
    withholdings: list[TaxLine] = []
    """Taken off the total by the payer (PPh 22): what is paid is `net_payable`."""
    net_payable: int | None = None
    signatures: list[str] = []
    order_id: uuid.UUID | None = None
    """A surat jalan's order: its QR page links to the kitchen's receiving page."""

    @property
    def title(self) -> str:
        return TITLES[self.kind]


__all__ = [
    "TITLES",
    "DocumentFacts",
    "DocumentKind",
    "DocumentNotReady",
    "Fact",
    "Line",
    "Party",
    "TaxLine",
]
