"""A document's PDF: A4, printable from a phone, made with fpdf2 and a segno QR code.

Rendered from the facts stored with the document, so every download of one document is
the same paper (its creation date is the document's). fpdf2's core Helvetica covers the
Latin-1 text of these papers; anything outside it is written as its nearest ASCII.
"""

from __future__ import annotations

import datetime as dt
import io
import unicodedata
from collections.abc import Sequence

import segno
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from litestar import Response

from marketplace.documents.domain import DocumentFacts, Party, TaxLine
from marketplace.documents.domain.amounts import rupiah
from marketplace.documents.domain.terbilang import rupiah_in_words
from marketplace.documents.schemas import PDF_MEDIA_TYPE
from marketplace.documents.service import IssuedDocument

FONT = "Helvetica"
QR_SIZE_MM = 32
VERIFY_PATH = "/cek/"


def verification_url(base_url: str, document: IssuedDocument) -> str:
    return f"{base_url.rstrip('/')}{VERIFY_PATH}{document.public_token}"


_PLAIN = str.maketrans(
    {"\u2014": "-", "\u2013": "-", "\u2018": "'", "\u2019": "'", "\u201c": '"',
     "\u201d": '"', "\u2026": "...", "\u00a0": " "}
)  # fmt: skip


def latin1(text: str) -> str:
    """What the core fonts can print: Latin-1 as is, typographic punctuation as its plain
    form, any other letter as its unaccented base (`Ā` → `A`), the rest as `?`."""
    printable = []
    for c in text.translate(_PLAIN):
        if ord(c) < 256:
            printable.append(c)
            continue
        base = "".join(
            b
            for b in unicodedata.normalize("NFKD", c)
            if ord(b) < 128 and not unicodedata.combining(b)
        )
        printable.append(base or "?")
    return "".join(printable)


def _date(day: dt.date) -> str:
    return day.strftime("%d-%m-%Y")


class _Paper(FPDF):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=7)
        self.cell(0, 5, f"Halaman {self.page_no()}", align="R")


def _party_block(pdf: FPDF, x: float, y: float, width: float, role: str, party: Party) -> float:
    pdf.set_xy(x, y)
    pdf.set_font(FONT, "B", 8)
    pdf.cell(width, 4, latin1(role.upper()), new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font(FONT, "B", 10)
    pdf.multi_cell(width, 5, latin1(party.name), align="L", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=9)
    pdf.cell(width, 4.5, latin1(f"NPWP: {party.npwp or '-'}"), new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.cell(width, 4.5, latin1(party.city), new_x=XPos.LEFT, new_y=YPos.NEXT)
    return pdf.get_y()


def _amount_row(pdf: FPDF, label: str, amount: int, *, bold: bool = False) -> None:
    pdf.set_font(FONT, "B" if bold else "", 10 if bold else 9)
    pdf.set_x(pdf.l_margin)
    width = pdf.epw
    pdf.cell(width * 0.7, 6, latin1(label), align="R")
    pdf.cell(width * 0.3, 6, rupiah(amount), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _page(pdf: FPDF, document: IssuedDocument, url: str) -> None:
    facts: DocumentFacts = document.facts
    pdf.add_page()
    top = pdf.get_y()
    qr = segno.make(url, error="m")
    image = io.BytesIO()
    qr.save(image, kind="png", scale=8, border=2)
    image.seek(0)
    pdf.image(image, x=pdf.w - pdf.r_margin - QR_SIZE_MM, y=top, w=QR_SIZE_MM, h=QR_SIZE_MM)
    text_width = pdf.epw - QR_SIZE_MM - 4
    pdf.set_font(FONT, "B", 14)
    pdf.multi_cell(
        text_width, 6, latin1(facts.issuer.name), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )
    pdf.set_font(FONT, size=9)
    pdf.cell(text_width, 5, latin1(f"NPWP: {facts.issuer.npwp or '-'}  |  {facts.issuer.city}"),
             new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip
    pdf.ln(3)
    pdf.set_font(FONT, "B", 15)
    pdf.cell(text_width, 7, latin1(facts.title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "B", 10)
    pdf.cell(text_width, 5, latin1(f"No. {document.number}"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=9)
    pdf.cell(text_width, 5, f"Tanggal: {_date(facts.issued_on)}",
             new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip
    pdf.set_y(max(pdf.get_y(), top + QR_SIZE_MM) + 4)

    half = pdf.epw / 2
    y = pdf.get_y()
    left = _party_block(pdf, pdf.l_margin, y, half - 4, "Dari", facts.issuer)
    right = _party_block(
        pdf, pdf.l_margin + half, y, half, facts.counterparty_role, facts.counterparty
    )
    pdf.set_xy(pdf.l_margin, max(left, right) + 3)

    pdf.set_font(FONT, size=9)
    for fact in facts.head:
        pdf.set_font(FONT, "B", 9)
        pdf.cell(40, 5, latin1(fact.label))
        pdf.set_font(FONT, size=9)
        pdf.multi_cell(
            pdf.epw - 40, 5, latin1(fact.value), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
    pdf.ln(3)

    pdf.set_font(FONT, size=9)
    with pdf.table(
        col_widths=(8, 62, 16, 22, 30, 32),
        text_align=("RIGHT", "LEFT", "RIGHT", "LEFT", "RIGHT", "RIGHT"),
        line_height=5,
        first_row_as_headings=True,
    ) as table:
        header = table.row()
        for title in ("No", "Barang", "Jml", "Satuan", "Harga satuan", "Jumlah"):
            header.cell(title)
        for number, line in enumerate(facts.lines, start=1):
            row = table.row()
            row.cell(str(number))
            description = line.description + (f"\n({line.note})" if line.note else "")
            row.cell(latin1(description))
            row.cell(f"{line.quantity:,}".replace(",", "."))
            row.cell(latin1(line.unit))
            row.cell(rupiah(line.unit_price))
            row.cell(rupiah(line.amount))
    pdf.ln(2)
    _amount_row(pdf, "Subtotal", facts.subtotal)
    for tax in facts.tax_lines:
        _amount_row(pdf, tax.label, tax.amount)
    _amount_row(pdf, facts.total_label, facts.total, bold=True)
    _withholdings(pdf, facts.withholdings, facts.net_payable)
    pdf.ln(2)
    pdf.set_font(FONT, "I", 9)
    pdf.multi_cell(pdf.epw, 5, latin1(f"Terbilang: {rupiah_in_words(facts.total)}"),
                   new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip
    _signatures(pdf, facts.signatures, facts.issued_on)
    pdf.ln(4)
    pdf.set_font(FONT, size=8)
    pdf.multi_cell(pdf.epw, 4, latin1(f"Cek keaslian dokumen ini: pindai kode QR atau buka {url}"),
                   new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip


def _withholdings(pdf: FPDF, withholdings: Sequence[TaxLine], net: int | None) -> None:
    for tax in withholdings:
        _amount_row(pdf, tax.label, tax.amount)
    if net is not None:
        _amount_row(pdf, "Jumlah dibayarkan", net, bold=True)


def _signatures(pdf: FPDF, who: Sequence[str], day: dt.date) -> None:
    if not who:
        return
    pdf.ln(4)
    if pdf.get_y() > pdf.h - 60:
        pdf.add_page()
    width = pdf.epw / len(who)
    y = pdf.get_y()
    pdf.set_font(FONT, size=9)
    for index, role in enumerate(who):
        pdf.set_xy(pdf.l_margin + index * width, y)
        pdf.cell(width, 5, latin1(role), align="C")
        pdf.set_xy(pdf.l_margin + index * width, y + 22)
        pdf.cell(width, 5, "(______________________)", align="C")
    pdf.set_xy(pdf.l_margin, y + 28)


def new_paper() -> FPDF:
    """An empty A4 document with the papers' margins and page footer."""
    pdf = _Paper(orientation="portrait", unit="mm", format="A4")
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(auto=True, margin=18)
    return pdf


def add_documents(pdf: FPDF, documents: Sequence[IssuedDocument], base_url: str) -> None:
    """Each document's paper, from a new page, as its own PDF prints it."""
    for document in documents:
        _page(pdf, document, verification_url(base_url, document))


def render_pdf(documents: Sequence[IssuedDocument], base_url: str) -> bytes:
    """One PDF of the documents, each from a new page (an order's invoices of several
    suppliers print together)."""
    pdf = new_paper()
    pdf.set_creation_date(min(d.created_at for d in documents))
    pdf.set_title(latin1(", ".join(d.number for d in documents)))
    pdf.set_author(latin1(documents[0].facts.issuer.name))
    add_documents(pdf, documents, base_url)
    return bytes(pdf.output())


def file_name(documents: Sequence[IssuedDocument]) -> str:
    return documents[0].number.replace("/", "-") + ".pdf"


def pdf_response(documents: Sequence[IssuedDocument], base_url: str) -> Response[bytes]:
    """The PDF answer of the API and of the pages alike: shown inline, never cached by a
    shared cache (it is one organization's paper)."""
    return Response(
        render_pdf(documents, base_url),
        media_type=PDF_MEDIA_TYPE,
        headers={
            "Content-Disposition": f'inline; filename="{file_name(documents)}"',
            "Cache-Control": "private, no-store",
        },
    )


__all__ = [
    "add_documents",
    "file_name",
    "latin1",
    "new_paper",
    "pdf_response",
    "render_pdf",
    "verification_url",
]
