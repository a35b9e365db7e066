"""A document's PDF made from facts alone: any text prints, the QR code reads back."""

from __future__ import annotations

import datetime as dt
import uuid

from marketplace.documents import IssuedDocument, render_pdf
from marketplace.documents.domain import DocumentFacts, DocumentKind, Line, Party
from tests.builders.documents import read_pdf


def party(name: str) -> Party:
    return Party(organization_id=uuid.uuid4(), name=name, npwp=None, city="Kota Blitar")


def test_text_outside_latin_1_prints_as_its_nearest_letters() -> None:
    facts = DocumentFacts(
        kind=DocumentKind.DELIVERY_NOTE,
        issuer=party("Koperasi “Maju” — Blitar"),
        counterparty=party("Warung Ñoño 咖啡"),
        counterparty_role="Penerima",
        issued_on=dt.date(2026, 12, 3),
        lines=[Line(description="Kopi Āceh", quantity=3, unit="bks", unit_price=10, amount=30)],
        subtotal=30,
        total=30,
    )
    document = IssuedDocument(
        id=uuid.uuid4(),
        number="SJ/KKMP-X/2026/000009",
        public_token="t" * 22,
        created_at=dt.datetime(2026, 12, 3, tzinfo=dt.UTC),
        facts=facts,
    )
    first = render_pdf([document], "https://pasar.example/")
    paper = read_pdf(first)
    for said in (
        'Koperasi "Maju" - Blitar',
        "Warung Ñoño ??",
        "Kopi Aceh",
        "NPWP: -",
        "tiga puluh rupiah",
    ):
        assert said in paper.text, said
    assert paper.qr_codes == [f"https://pasar.example/cek/{'t' * 22}"]
    assert render_pdf([document], "https://pasar.example/") == first  # the same paper again
