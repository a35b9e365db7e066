"""The kitchen's two-weekly report bundle: the report's figures (`orders.KitchenReportService`)
with the BAST of every delivery, issued through `DocumentService` — the same numbers as the
single BAST PDFs — as one PDF (summary, list of deliveries, each BAST) or a CSV.

Visibility is the budget periods': another organization's kitchen or period is not found.
Never commits: issuing a delivery's first BAST takes its number, the controller commits.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid

import msgspec

from marketplace.accounts import OrganizationDirectory, OrganizationRecord, Principal
from marketplace.db import UnitOfWork
from marketplace.documents.service import DocumentService, IssuedDocument
from marketplace.errors import NotFound
from marketplace.orders import DeliveryRow, KitchenReport, KitchenReportService


class ReportedDelivery(msgspec.Struct, frozen=True, kw_only=True):
    row: DeliveryRow
    bast: IssuedDocument

    @property
    def supplier_name(self) -> str:
        return self.bast.facts.issuer.name

    @property
    def product_name(self) -> str:
        return self.bast.facts.lines[0].description if self.bast.facts.lines else "?"

    @property
    def unit(self) -> str:
        return self.bast.facts.lines[0].unit if self.bast.facts.lines else ""


class ReportBundle(msgspec.Struct, frozen=True, kw_only=True):
    kitchen: OrganizationRecord
    report: KitchenReport
    deliveries: list[ReportedDelivery]

    @property
    def base_name(self) -> str:
        return f"laporan-{self.kitchen.slug}-{self.report.start}-{self.report.end}"


class TwoWeeklyReportService:
    def __init__(self, uow: UnitOfWork) -> None:
        self.reports = KitchenReportService(uow)
        self.documents = DocumentService(uow)
        self.directory = OrganizationDirectory(uow)

    async def of_period(
        self, principal: Principal, kitchen_id: uuid.UUID, period_id: uuid.UUID
    ) -> ReportBundle:
        report = await self.reports.of_period(principal, kitchen_id, period_id)
        return await self._bundle(principal, report)

    async def of_dates(
        self, principal: Principal, kitchen_id: uuid.UUID, start: dt.date, end: dt.date
    ) -> ReportBundle:
        report = await self.reports.of_dates(principal, kitchen_id, start, end)
        return await self._bundle(principal, report)

    async def _bundle(self, principal: Principal, report: KitchenReport) -> ReportBundle:
        kitchen = await self.directory.get(report.kitchen_id)
        if kitchen is None:
            raise NotFound("No such kitchen.")
        basts = await self.documents.goods_receipts(
            principal, [(d.leg_id, d.supplier_organization_id) for d in report.deliveries]
        )
        return ReportBundle(
            kitchen=kitchen,
            report=report,
            deliveries=[ReportedDelivery(row=d, bast=basts[d.leg_id]) for d in report.deliveries],
        )


CSV_COLUMNS = (
    "tanggal_antar",
    "no_bast",
    "pemasok",
    "barang",
    "jumlah_diterima",
    "satuan",
    "harga_satuan",
    "jumlah_rp",
    "id_pesanan",
    "id_leg",
)
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


def report_csv(bundle: ReportBundle) -> bytes:
    """One row per delivery (amounts in whole rupiah), UTF-8 with a BOM so that a
    spreadsheet opens it with its letters intact."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for d in bundle.deliveries:
        writer.writerow(
            (
                d.row.delivery_date.isoformat(),
                d.bast.number,
                d.supplier_name,
                d.product_name,
                d.row.delivered_quantity,
                d.unit,
                d.row.unit_price,
                d.row.amount,
                d.row.order_id,
                d.row.leg_id,
            )
        )
    return ("\ufeff" + out.getvalue()).encode()


__all__ = [
    "CSV_COLUMNS",
    "CSV_MEDIA_TYPE",
    "ReportBundle",
    "ReportedDelivery",
    "TwoWeeklyReportService",
    "report_csv",
]
