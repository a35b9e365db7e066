"""The kitchen's two-weekly report (laporan dua mingguan) for BGN: a budget period or any
range of delivery dates, with every delivery and its BAST, spend against the envelope,
distinct suppliers against the programme's 15, and the cooperative and local UMKM shares;
one button downloads the PDF bundle (summary, list, each BAST), another the CSV.

Through `documents.TwoWeeklyReportService`, as the API's `/v1/kitchens/{id}/reports/…`:
another kitchen's period is the not-found page; a bad range is the form again (422). The
page's query is `?periode=<id>` or `?dari=<date>&sampai=<date>`; with neither, the latest
budget period, or the two weeks up to today. Showing the report issues any missing BAST
(its number), as downloading that BAST would, and commits.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Response, get
from litestar.response import Redirect

from marketplace import clock
from marketplace.dependencies import UoW
from marketplace.documents import (
    ReportBundle,
    TwoWeeklyReportService,
    report_csv_response,
    report_pdf_response,
)
from marketplace.errors import NotFound, ValidationFailed
from marketplace.orders import MIN_SUPPLIERS, BudgetService
from marketplace.web.controller import PageRequest, SignedIn, not_found_page, signed_in
from marketplace.web.i18n import gettext_ as _
from marketplace.web.pages import render
from marketplace.web.refusals import refusal_reason

FORTNIGHT_DAYS = 14
LISTED_PERIODS = 6


class _Scope:
    def __init__(
        self,
        *,
        period_id: uuid.UUID | None = None,
        start: dt.date | None = None,
        end: dt.date | None = None,
    ) -> None:
        self.period_id, self.start, self.end = period_id, start, end

    def query(self) -> str:
        if self.period_id is not None:
            return urlencode({"periode": str(self.period_id)})
        assert self.start is not None
        assert self.end is not None
        return urlencode({"dari": self.start.isoformat(), "sampai": self.end.isoformat()})


def _scope_of(request: PageRequest) -> tuple[_Scope | None, dict[str, str], dict[str, str]]:
    """The report asked for, the form's values and what is wrong with them."""
    params = request.query_params
    values = {name: str(params.get(name) or "").strip() for name in ("periode", "dari", "sampai")}
    errors: dict[str, str] = {}
    if values["periode"]:
        try:
            return _Scope(period_id=uuid.UUID(values["periode"])), values, errors
        except ValueError:
            return None, values, {"periode": "unknown"}
    if not values["dari"] and not values["sampai"]:
        return None, values, errors
    days: dict[str, dt.date] = {}
    for name in ("dari", "sampai"):
        try:
            days[name] = dt.date.fromisoformat(values[name])
        except ValueError:
            errors[name] = _("Write this day as a date.")
    if errors:
        return None, values, errors
    return _Scope(start=days["dari"], end=days["sampai"]), values, errors


async def _default(uow: UoW, acting: SignedIn) -> _Scope:
    periods = await BudgetService(uow).periods(
        acting.principal, acting.membership.organization_id, before=None, limit=1
    )
    if periods:
        return _Scope(period_id=periods[0].period.id)
    today = clock.today_in(acting.membership.time_zone)
    return _Scope(start=today - dt.timedelta(days=FORTNIGHT_DAYS - 1), end=today)


async def _bundle(uow: UoW, acting: SignedIn, scope: _Scope) -> ReportBundle:
    service = TwoWeeklyReportService(uow)
    kitchen = acting.membership.organization_id
    if scope.period_id is not None:
        return await service.of_period(acting.principal, kitchen, scope.period_id)
    assert scope.start is not None
    assert scope.end is not None
    return await service.of_dates(acting.principal, kitchen, scope.start, scope.end)


async def _resolved(
    request: PageRequest, uow: UoW
) -> tuple[SignedIn, _Scope | None, dict[str, str], dict[str, str]] | Response[Any]:
    acting = await signed_in(request, uow)
    if isinstance(acting, Redirect):
        return acting
    scope, values, errors = _scope_of(request)
    if errors.get("periode"):
        return not_found_page(request)
    return acting, scope, values, errors


def _percent(tenths: int) -> str:
    return f"{tenths // 10},{tenths % 10}\u00a0%"


class ReportController(Controller):
    path = "/"
    include_in_schema = False

    @get("/laporan")
    async def report_page(self, request: PageRequest, uow: UoW) -> Response[Any]:
        resolved = await _resolved(request, uow)
        if isinstance(resolved, Response):
            return resolved
        acting, scope, values, errors = resolved
        bundle: ReportBundle | None = None
        try:
            if not errors:
                scope = scope or await _default(uow, acting)
                bundle = await _bundle(uow, acting, scope)
        except NotFound:
            await uow.rollback()
            return not_found_page(request)
        except ValidationFailed as refusal:
            await uow.rollback()
            errors["sampai"] = (
                _("Choose a last day on or after the first, at most 31 days on.")
                if refusal.code == "orders.invalid_report_range"
                else refusal_reason(refusal)
            )
        try:
            periods = await BudgetService(uow).periods(
                acting.principal, acting.membership.organization_id, before=None,
                limit=LISTED_PERIODS,
            )  # fmt: skip
        except NotFound:  # not a kitchen
            await uow.rollback()
            return not_found_page(request)
        await uow.commit()
        if bundle is not None:
            values = {
                "periode": str(bundle.report.period_id or ""),
                "dari": bundle.report.start.isoformat(),
                "sampai": bundle.report.end.isoformat(),
            }
        return render(
            request,
            "report.html",
            status=422 if errors else 200,
            membership=acting.membership,
            periods=periods,
            bundle=bundle,
            report=bundle.report if bundle else None,
            query=scope.query() if bundle and scope else "",
            values=values,
            errors=errors,
            min_suppliers=MIN_SUPPLIERS,
            percent=_percent,
        )

    @get("/laporan/dua-mingguan.pdf")
    async def report_pdf(self, request: PageRequest, uow: UoW) -> Response[Any]:
        return await self._download(request, uow, pdf=True)

    @get("/laporan/dua-mingguan.csv")
    async def report_csv(self, request: PageRequest, uow: UoW) -> Response[Any]:
        return await self._download(request, uow, pdf=False)

    async def _download(self, request: PageRequest, uow: UoW, *, pdf: bool) -> Response[Any]:
        resolved = await _resolved(request, uow)
        if isinstance(resolved, Response):
            return resolved
        acting, scope, _values, errors = resolved
        if errors or scope is None:
            return Redirect(f"/laporan?{urlencode(dict(request.query_params))}")
        try:
            bundle = await _bundle(uow, acting, scope)
        except NotFound:
            await uow.rollback()
            return not_found_page(request)
        except ValidationFailed:
            await uow.rollback()
            return Redirect(f"/laporan?{scope.query()}")
        await uow.commit()
        if pdf:
            return report_pdf_response(bundle, str(request.base_url))
        return report_csv_response(bundle)


__all__ = ["ReportController"]
