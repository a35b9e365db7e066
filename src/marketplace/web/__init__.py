"""Web pages for people on low-end phones, beside the API (issue #15's foundation).

Server-rendered HTML (Jinja2 through Litestar's templates), htmx for parts that update in
place (vendored under `static/vendor/htmx`, with its licence; no CDN, no external fonts),
plain forms that work with JavaScript off. People sign in with a phone number and a
password (`accounts.PeopleService`); sessions are server-side (`accounts.
PostgresSessionStore`), their cookie HttpOnly, SameSite=Lax and Secure outside development;
every form carries a CSRF token. Bahasa Indonesia first, English second (`i18n`).

Handlers call the same services as the API in one unit of work; the API and its keys are
untouched by anything here.
"""

from __future__ import annotations

from typing import Any

from litestar import Router
from litestar.middleware.session.server_side import ServerSideSessionConfig
from litestar.plugins.htmx import HTMXRequest
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from marketplace.accounts import PostgresSessionStore
from marketplace.errors import DomainError
from marketplace.web.budget.controller import BudgetController
from marketplace.web.city.controller import CityController
from marketplace.web.clerk.consignment.controller import ConsignmentDeskController
from marketplace.web.clerk.controller import WorkQueueController
from marketplace.web.clerk.stock.controller import StockController
from marketplace.web.clerk.trade import TradeController
from marketplace.web.consignor.controller import ConsignorController
from marketplace.web.controller import PageController, not_found_page
from marketplace.web.documents.controller import DocumentPageController
from marketplace.web.kitchen.controller import KitchenController
from marketplace.web.pages import (
    SESSION_COOKIE,
    SESSION_STORE,
    STATIC,
    CsrfRefused,
    check_csrf,
    render,
    template_engine,
)
from marketplace.web.problems.controller import ProblemPagesController
from marketplace.web.receiving.controller import ReceivingController
from marketplace.web.report.controller import ReportController
from marketplace.web.shop import ShopController
from marketplace.web.sourcing.controller import SourcingPagesController
from marketplace.web.sourcing.purchase_order.controller import PurchaseOrderPagesController
from marketplace.web.sourcing.quote.controller import QuotePagesController
from marketplace.web.standing.controller import StandingOrderController

SESSION_DAYS = 7


def template_config() -> TemplateConfig[Any]:
    return TemplateConfig(instance=template_engine())


def session_config(*, secure: bool) -> ServerSideSessionConfig:
    return ServerSideSessionConfig(
        key=SESSION_COOKIE,
        store=SESSION_STORE,
        max_age=SESSION_DAYS * 24 * 3600,
        httponly=True,
        samesite="lax",
        secure=secure,
    )


def _csrf_refused(request: Any, exc: CsrfRefused) -> Any:
    return render(request, "csrf_refused.html", status=403)


def _not_found(request: Any, exc: Exception) -> Any:
    return not_found_page(request)


def _domain_error(request: Any, exc: DomainError) -> Any:
    return render(request, "problem.html", status=exc.status, detail=exc.detail)


def pages_router(*, secure_cookies: bool) -> Router:
    """The pages, with their session middleware and CSRF check (the API has neither)."""
    return Router(
        path="/",
        route_handlers=[
            PageController,
            KitchenController,
            ReceivingController,
            BudgetController,
            ReportController,
            StandingOrderController,
            ShopController,
            DocumentPageController,
            WorkQueueController,
            ConsignorController,
            ConsignmentDeskController,
            StockController,
            TradeController,
            CityController,
            SourcingPagesController,
            QuotePagesController,
            PurchaseOrderPagesController,
            ProblemPagesController,
        ],
        middleware=[session_config(secure=secure_cookies).middleware],
        before_request=check_csrf,
        request_class=HTMXRequest,
        exception_handlers={
            CsrfRefused: _csrf_refused,
            DomainError: _domain_error,
            404: _not_found,
        },
        include_in_schema=False,
    )


def static_router() -> Router:
    return create_static_files_router(path="/static", directories=[STATIC], include_in_schema=False)


__all__ = [
    "SESSION_STORE",
    "PostgresSessionStore",
    "pages_router",
    "session_config",
    "static_router",
    "template_config",
]
