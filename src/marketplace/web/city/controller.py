"""`/kota`: the city office's dashboard, and its tables as CSV.

Months are `?from=YYYY-MM&to=YYYY-MM` (default: the twelve months to this one, in the
office's calendar). An office without oversight, or a person of a kitchen, gets the
not-found page; bad months the problem page (422).
"""

from __future__ import annotations

import csv
import io
from typing import Any

from litestar import Controller, Response, get
from litestar.response import Redirect

from marketplace import clock
from marketplace.dependencies import UoW
from marketplace.errors import NotFound, PermissionDenied
from marketplace.reports import CooperativeReport, Figures, ReportService
from marketplace.reports.domain import add_months
from marketplace.web.city import charts
from marketplace.web.controller import PageRequest, SignedIn, not_found_page, signed_in
from marketplace.web.i18n import gettext_ as _
from marketplace.web.pages import render

MONTHS_SHOWN = 12
# The columns of every table and CSV: (figure, heading).
COLUMNS = (
    "turnover", "to_kitchens", "to_stalls", "to_government", "consignment_sales",
    "growth_bps", "target_attainment_bps", "buyers", "consignors", "consignor_earnings",
    "bulog_purchases", "local_share_bps", "trade_quantity", "trade_levy",
)  # fmt: skip


def headings() -> dict[str, str]:
    return {
        "turnover": _("Turnover"),
        "to_kitchens": _("To kitchens"),
        "to_stalls": _("To food stalls"),
        "to_government": _("To government"),
        "consignment_sales": _("Consignment sales"),
        "growth_bps": _("Growth on a year before"),
        "target_attainment_bps": _("Of the target"),
        "buyers": _("Buyers served"),
        "consignors": _("UMKM consignors"),
        "consignor_earnings": _("Earned by consignors"),
        "bulog_purchases": _("Bought from Bulog"),
        "local_share_bps": _("Local share of supply"),
        "trade_quantity": _("Trade-contract units"),
        "trade_levy": _("Levy collected"),
    }


def cell(figures: Figures, column: str) -> int | None:
    value: int | None = getattr(figures, column)
    return value


async def _report(
    request: PageRequest, uow: UoW
) -> tuple[SignedIn, CooperativeReport] | Response[Any]:
    acting = await signed_in(request, uow)
    if isinstance(acting, Redirect):
        return acting
    this = clock.today_in(acting.membership.time_zone).replace(day=1)
    label = "{:04d}-{:02d}"
    last = request.query_params.get("to") or label.format(this.year, this.month)
    start = add_months(this, 1 - MONTHS_SHOWN)
    first = request.query_params.get("from") or label.format(start.year, start.month)
    try:
        report = await ReportService(uow).cooperatives_report(acting.principal, first, last)
    except (NotFound, PermissionDenied):
        return not_found_page(request)
    return acting, report


def _csv(name: str, header: list[str], rows: list[list[Any]]) -> Response[bytes]:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return Response(
        out.getvalue().encode(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


class CityController(Controller):
    path = "/kota"
    include_in_schema = False

    @get("/")
    async def dashboard(self, request: PageRequest, uow: UoW) -> Response[Any]:
        found = await _report(request, uow)
        if isinstance(found, Response):
            return found
        acting, report = found
        monthly = [m.figures.turnover for m in report.total.months]
        points = charts.line(monthly, report.months)
        names = [c.name for c in report.cooperatives]
        bars = charts.bars([c.total.turnover for c in report.cooperatives], names)
        return render(
            request,
            "city/dashboard.html",
            membership=acting.membership,
            report=report,
            points=points,
            polyline=charts.polyline(points),
            bars=bars,
            bars_height=charts.bars_height(len(bars)),
            chart=charts,
            columns=COLUMNS,
            headings=headings(),
            cell=cell,
            query=request.url.query,
        )

    @get("/bulan.csv")
    async def months_csv(self, request: PageRequest, uow: UoW) -> Response[Any]:
        found = await _report(request, uow)
        if isinstance(found, Response):
            return found
        report = found[1]
        rows = [[m.month, *(cell(m.figures, c) for c in COLUMNS)] for m in report.total.months]
        rows.append(["total", *(cell(report.total.total, c) for c in COLUMNS)])
        return _csv("kota-bulan.csv", ["month", *COLUMNS], rows)

    @get("/koperasi.csv")
    async def cooperatives_csv(self, request: PageRequest, uow: UoW) -> Response[Any]:
        found = await _report(request, uow)
        if isinstance(found, Response):
            return found
        report = found[1]
        rows = [
            [
                c.cooperative_id, c.name, c.region_code, month.month,
                *(cell(month.figures, col) for col in COLUMNS),
            ]
            for c in report.cooperatives
            for month in c.months
        ]  # fmt: skip
        rows += [
            [
                c.cooperative_id,
                c.name,
                c.region_code,
                "total",
                *(cell(c.total, col) for col in COLUMNS),
            ]
            for c in report.cooperatives
        ]
        header = ["cooperative_id", "name", "region_code", "month", *COLUMNS]
        return _csv("kota-koperasi.csv", header, rows)
