"""The two-weekly report's PDF: a summary page, the list of deliveries with their BAST
numbers, then every BAST as its own PDF prints it (`rendering.add_documents`).

In Indonesian, as the papers it bundles. Rendered from the figures and the stored BASTs:
the same report downloads as the same content (its creation date is the latest BAST's, or
the report's last day when there is none).
"""

from __future__ import annotations

import datetime as dt

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from litestar import Response

from marketplace.documents.domain.amounts import rupiah
from marketplace.documents.fortnight import CSV_MEDIA_TYPE, ReportBundle, report_csv
from marketplace.documents.rendering import FONT, add_documents, latin1, new_paper
from marketplace.documents.schemas import PDF_MEDIA_TYPE
from marketplace.orders import MIN_SUPPLIERS


def _date(day: dt.date) -> str:
    return day.strftime("%d-%m-%Y")


def _percent(tenths: int) -> str:
    return f"{tenths // 10},{tenths % 10}%"


def _row(pdf: FPDF, label: str, value: str, *, bold: bool = False) -> None:
    pdf.set_font(FONT, "B" if bold else "", 10)
    pdf.cell(pdf.epw * 0.6, 6, latin1(label))
    pdf.cell(pdf.epw * 0.4, 6, latin1(value), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _summary(pdf: FPDF, bundle: ReportBundle) -> None:
    r = bundle.report
    pdf.add_page()
    pdf.set_font(FONT, "B", 15)
    pdf.multi_cell(pdf.epw, 7, "Laporan Dua Mingguan Penggunaan Dana Bahan Baku",
                   new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip
    pdf.set_font(FONT, "B", 11)
    pdf.multi_cell(pdf.epw, 6, latin1(bundle.kitchen.name), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=9)
    pdf.cell(pdf.epw, 5, latin1(f"NPWP: {bundle.kitchen.npwp or '-'}  |  {bundle.kitchen.city}"),
             new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip
    pdf.cell(pdf.epw, 5, f"Periode: {_date(r.start)} s.d. {_date(r.end)}",
             new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip
    pdf.ln(4)
    if r.envelope:
        _row(pdf, "Pagu bahan baku", rupiah(r.envelope))
        _row(pdf, "Terpakai (barang diterima)", rupiah(r.spent))
        _row(pdf, "Sisa", rupiah(r.remaining), bold=True)
    else:
        _row(pdf, "Pagu bahan baku", "tidak ada periode anggaran")
        _row(pdf, "Terpakai (barang diterima)", rupiah(r.spent), bold=True)
    pdf.ln(2)
    _row(pdf, "Jumlah penerimaan (BAST)", str(len(bundle.deliveries)))
    _row(pdf, "Jumlah pemasok berbeda", f"{r.suppliers} (minimal {MIN_SUPPLIERS})")
    _row(
        pdf,
        "Kekurangan pemasok",
        f"kurang {r.suppliers_missing}" if r.suppliers_missing else "terpenuhi",
    )
    _row(pdf, "Dari koperasi", f"{rupiah(r.cooperatives)} ({_percent(r.cooperative_share_tenths)})")
    _row(
        pdf,
        "Dari UMKM lokal (kota yang sama)",
        f"{rupiah(r.local_umkm)} ({_percent(r.local_umkm_share_tenths)})",
    )


def _deliveries(pdf: FPDF, bundle: ReportBundle) -> None:
    pdf.add_page()
    pdf.set_font(FONT, "B", 13)
    pdf.cell(pdf.epw, 7, "Daftar Penerimaan Barang", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    if not bundle.deliveries:
        pdf.set_font(FONT, size=10)
        pdf.cell(pdf.epw, 6, "Belum ada barang diterima.", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        return
    pdf.set_font(FONT, size=7.5)
    with pdf.table(
        col_widths=(6, 16, 68, 56, 13, 21),
        text_align=("RIGHT", "LEFT", "LEFT", "LEFT", "RIGHT", "RIGHT"),
        line_height=4.5,
        first_row_as_headings=True,
    ) as table:
        header = table.row()
        for title in ("No", "Tanggal", "No. BAST", "Pemasok / barang", "Jml", "Jumlah"):
            header.cell(title)
        for number, d in enumerate(bundle.deliveries, start=1):
            row = table.row()
            row.cell(str(number))
            row.cell(_date(d.row.delivery_date))
            row.cell(latin1(d.bast.number))
            row.cell(latin1(f"{d.supplier_name}\n{d.product_name}"))
            row.cell(f"{d.row.delivered_quantity:,}".replace(",", "."))
            row.cell(rupiah(d.row.amount))
    pdf.ln(2)
    _row(pdf, "Jumlah", rupiah(bundle.report.spent), bold=True)


def render_report(bundle: ReportBundle, base_url: str) -> bytes:
    pdf = new_paper()
    moments = [d.bast.created_at for d in bundle.deliveries]
    end = dt.datetime.combine(bundle.report.end, dt.time(), tzinfo=dt.UTC)
    pdf.set_creation_date(max(moments) if moments else end)
    pdf.set_title(latin1(f"Laporan dua mingguan {bundle.kitchen.name}"))
    pdf.set_author(latin1(bundle.kitchen.name))
    _summary(pdf, bundle)
    _deliveries(pdf, bundle)
    add_documents(pdf, [d.bast for d in bundle.deliveries], base_url)
    return bytes(pdf.output())


def _file(content: bytes, media_type: str, name: str) -> Response[bytes]:
    return Response(
        content,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "private, no-store",
        },
    )


def report_pdf_response(bundle: ReportBundle, base_url: str) -> Response[bytes]:
    """The bundle as a PDF download, for the API and the pages alike."""
    return _file(render_report(bundle, base_url), PDF_MEDIA_TYPE, f"{bundle.base_name}.pdf")


def report_csv_response(bundle: ReportBundle) -> Response[bytes]:
    return _file(report_csv(bundle), CSV_MEDIA_TYPE, f"{bundle.base_name}.csv")


__all__ = ["render_report", "report_csv_response", "report_pdf_response"]
