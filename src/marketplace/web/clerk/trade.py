"""The cooperative's sales and purchases for a chosen period, with totals.

Read through `OrderService.trade_totals`: the legs delivered for delivery dates in the
period (both ends included), what the buyer pays for each (VAT in, a short delivery's
credit out), per buyer for sales and per supplier for purchases. The period is chosen
in the cooperative's calendar; it defaults to this month up to today.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, Response, get
from litestar.response import Redirect

from marketplace import clock
from marketplace.accounts import OrganizationDirectory
from marketplace.dates import out_of_range
from marketplace.dependencies import UoW
from marketplace.orders import OrderService
from marketplace.web.controller import PageRequest, field_of, signed_in
from marketplace.web.i18n import gettext_ as _
from marketplace.web.pages import render

MAX_DAYS = 366


def _date(raw: str) -> dt.date | None:
    try:
        day = dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        return None
    return None if day is None or out_of_range(day) else day


class TradeController(Controller):
    path = "/penjualan"
    include_in_schema = False

    @get("/")
    async def report(self, request: PageRequest, uow: UoW) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        today = clock.today_in(acting.membership.time_zone)
        start = field_of(request.query_params, "dari").strip()
        end = field_of(request.query_params, "sampai").strip()
        first, last = _date(start), _date(end)
        error = None
        if (start and first is None) or (end and last is None):
            error = _("Write the dates as on a calendar, such as 2026-12-01.")
        first, last = first or today.replace(day=1), last or today
        if first > last:
            first, last = last, first
        if (last - first).days > MAX_DAYS:
            error = _("Choose a period of at most a year.")
            first = last - dt.timedelta(days=MAX_DAYS)
        sold, bought = await OrderService(uow).trade_totals(acting.principal, first, last)
        parties = await OrganizationDirectory(uow).get_many(
            sorted({t.party_id for t in sold} | {t.party_id for t in bought})
        )
        return render(
            request,
            "clerk/trade.html",
            status=422 if error else 200,
            membership=acting.membership,
            first=first,
            last=last,
            sold=sorted(sold, key=lambda t: -t.value),
            bought=sorted(bought, key=lambda t: -t.value),
            parties=parties,
            error=error,
        )


__all__ = ["TradeController"]
