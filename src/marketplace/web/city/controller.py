"""`/kota`: the city office's dashboard, and its tables as CSV.

Months are `?from=YYYY-MM&to=YYYY-MM` (default: the twelve months to this one, in the
office's calendar). An office without oversight, or a person of a kitchen, gets the
not-found page; bad months the problem page (422). A cooperative's administrator records
its member count of a month here (`POST /kota/anggota`).
"""

from __future__ import annotations

import csv
import io
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Response, get, post
from litestar.response import Redirect

from marketplace import clock
from marketplace.accounts import OrganizationKind, Role
from marketplace.dependencies import UoW
from marketplace.errors import DomainError, NotFound, PermissionDenied
from marketplace.reports import MAX_MEMBERS, CooperativeReport, Figures, ReportService
from marketplace.reports.domain import add_months
from marketplace.web.city import charts
from marketplace.web.clerk.forms import refusal_text, whole_number
from marketplace.web.controller import (
    PageRequest,
    SignedIn,
    field_of,
    not_found_page,
    signed_in,
)
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


LABEL = "{:04d}-{:02d}"


def this_month(acting: SignedIn) -> str:
    this = clock.today_in(acting.membership.time_zone)
    return LABEL.format(this.year, this.month)


def records_members(acting: SignedIn) -> bool:
    """A cooperative's administrator keeps its member count."""
    principal = acting.principal
    return principal.organization_kind is OrganizationKind.COOPERATIVE and (
        principal.role is Role.ADMIN
    )


def members_refusal(refusal: DomainError) -> str:
    if refusal.code == "reports.member_count_in_future":
        return _("Record the count of this month or a month before it.")
    if refusal.code == "reports.invalid_month_range":
        return _("Choose the month of the count.")
    return refusal_text(refusal)


async def _report(
    request: PageRequest, uow: UoW, acting: SignedIn | None = None
) -> tuple[SignedIn, CooperativeReport] | Response[Any]:
    if acting is None:
        found = await signed_in(request, uow)
        if isinstance(found, Redirect):
            return found
        acting = found
    this = clock.today_in(acting.membership.time_zone).replace(day=1)
    last = request.query_params.get("to") or LABEL.format(this.year, this.month)
    start = add_months(this, 1 - MONTHS_SHOWN)
    first = request.query_params.get("from") or LABEL.format(start.year, start.month)
    try:
        report = await ReportService(uow).cooperatives_report(acting.principal, first, last)
    except (NotFound, PermissionDenied):
        return not_found_page(request)
    return acting, report


async def _dashboard(
    request: PageRequest,
    uow: UoW,
    acting: SignedIn | None = None,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response[Any]:
    found = await _report(request, uow, acting)
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
        status=status,
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
        records_members=records_members(acting),
        errors=errors or {},
        values=values or {"count_month": this_month(acting), "member_count": ""},
    )


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
        return await _dashboard(request, uow)

    @post("/anggota", status_code=303)
    async def record_members(self, request: PageRequest, uow: UoW) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        if not records_members(acting):
            return not_found_page(request)
        form = await request.form()
        names = ("count_month", "member_count")
        values = {name: field_of(form, name).strip()[:20] for name in names}
        members = whole_number(values["member_count"], low=0, high=MAX_MEMBERS)
        if members is None:
            errors = {"member_count": _("Write the number of members, from 0 to 10.000.000.")}
            return await _dashboard(request, uow, acting, errors=errors, values=values, status=422)
        try:
            await ReportService(uow).record_members(
                acting.principal, acting.principal.organization_id, values["count_month"], members
            )
        except DomainError as refusal:
            await uow.rollback()
            field = "count_month" if refusal.code.startswith("reports.") else "member_count"
            errors = {field: members_refusal(refusal)}
            return await _dashboard(
                request, uow, acting, errors=errors, values=values, status=refusal.status
            )
        await uow.commit()
        return Redirect(
            f"/kota?{urlencode({'saved': values['count_month']})}#members", status_code=303
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
