"""Budget periods: create one (portions a day per age band, 10 operating days), list
them with what is used and left, and one period's usage report.

Through `orders.BudgetService`, as the API's `/v1/kitchens/{id}/budget-periods`: a period
of another kitchen is not found; only a buyer or finance member may create one.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect

from marketplace import clock
from marketplace.accounts import OrganizationDirectory
from marketplace.dependencies import UoW
from marketplace.errors import DomainError, NotFound
from marketplace.orders import BudgetPeriodCreate, BudgetService
from marketplace.web.controller import (
    PageRequest,
    SignedIn,
    field_of,
    not_found_page,
    signed_in,
)
from marketplace.web.i18n import gettext_ as _
from marketplace.web.names import category_label
from marketplace.web.pages import render
from marketplace.web.refusals import refusal_reason

LISTED_PERIODS = 20
OPERATING_DAYS = 10
# The programme's raw-material budget per portion, by age band.
BANDS = (("small", 8000), ("large", 10000))


def _count(raw: str) -> int | None:
    raw = raw.strip()
    return int(raw) if raw.isdigit() and int(raw) <= 10_000 else None


async def _list_page(
    request: PageRequest,
    uow: UoW,
    acting: SignedIn,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response[Any]:
    kitchen = acting.membership.organization_id
    today = clock.today_in(acting.membership.time_zone)
    periods = await BudgetService(uow).periods(
        acting.principal, kitchen, before=None, limit=LISTED_PERIODS
    )
    defaults = {"start": today.isoformat(), "days": str(OPERATING_DAYS), "small": "", "large": ""}
    return render(
        request,
        "budgets.html",
        status=422 if errors else 200,
        membership=acting.membership,
        periods=periods,
        values={**defaults, **(values or {})},
        errors=errors or {},
    )


class BudgetController(Controller):
    path = "/"
    include_in_schema = False

    @get("/anggaran")
    async def budgets_page(self, request: PageRequest, uow: UoW) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        try:
            return await _list_page(request, uow, acting)
        except NotFound:  # not a kitchen: no budget periods
            return not_found_page(request)

    @post("/anggaran", status_code=303)
    async def create(self, request: PageRequest, uow: UoW) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        form = await request.form()
        values = {
            name: field_of(form, name).strip() for name in ("start", "days", "small", "large")
        }
        errors: dict[str, str] = {}
        try:
            start = dt.date.fromisoformat(values["start"])
        except ValueError:
            errors["start"] = _("Write the first day as a date.")
        days = _count(values["days"])
        if days is None or not 1 <= days <= 31:
            errors["days"] = _("Write the operating days: 1 to 31.")
        counts = {name: _count(values[name] or "0") for name, _price in BANDS}
        for name, count in counts.items():
            if count is None:
                errors[name] = _("Write the portions a day: a whole number, 0 or more.")
        if not errors and not any(counts.values()):
            errors["small"] = _("Write the portions a day of at least one age band.")
        if errors:
            return await _list_page(request, uow, acting, values=values, errors=errors)
        bands = [
            {"portions_per_day": counts[name], "rupiah_per_portion": price}
            for name, price in BANDS
            if counts[name]
        ]
        try:
            data = msgspec.convert(
                {"start_date": start.isoformat(), "operating_days": days, "bands": bands},
                BudgetPeriodCreate,
            )
            made = await BudgetService(uow).create(
                acting.principal, acting.membership.organization_id, data
            )
        except msgspec.ValidationError:
            errors["start"] = _("This first day can't be used: choose a nearer date.")
        except NotFound:
            await uow.rollback()
            return not_found_page(request)
        except DomainError as refusal:
            await uow.rollback()
            errors["start"] = _budget_refusal(refusal)
        if errors:
            return await _list_page(request, uow, acting, values=values, errors=errors)
        await uow.commit()
        return Redirect(f"/anggaran/{made.period.id}", status_code=303)

    @get("/anggaran/{period_id:uuid}")
    async def report_page(
        self, request: PageRequest, uow: UoW, period_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        try:
            report = await BudgetService(uow).report(
                acting.principal, acting.membership.organization_id, period_id
            )
        except NotFound:
            return not_found_page(request)
        suppliers = await OrganizationDirectory(uow).get_many(
            sorted({supplier for supplier, _amount in report.by_supplier})
        )
        return render(
            request,
            "budget.html",
            membership=acting.membership,
            report=report,
            figures=report.figures,
            suppliers=suppliers,
            category_label=category_label,
        )


def _budget_refusal(refusal: DomainError) -> str:
    if refusal.code == "auth.forbidden":
        return _("Your role may not create budget periods. Ask your administrator.")
    if refusal.code == "orders.budget_period_overlaps":
        return _("This period overlaps another budget period of the kitchen.")
    return _("The budget period could not be created: %(why)s") % {"why": refusal_reason(refusal)}


__all__ = ["BudgetController"]
