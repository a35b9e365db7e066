"""HTTP composition root. Nothing imports this module; `create_app()` builds the API."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import swagger_ui_bundle
from litestar import Litestar, Router
from litestar.di import Provide
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme, Server
from litestar.static_files import create_static_files_router

from marketplace.accounts.controller import OrganizationController
from marketplace.accounts.principal_cache import PrincipalCache
from marketplace.consignment.controller import ConsignmentController
from marketplace.consignment.settlement.controller import ConsignmentSettlementController
from marketplace.db import create_engine, create_read_session_factory, create_session_factory
from marketplace.dependencies import provide_principal, provide_uow
from marketplace.documents.controller import DocumentController, KitchenReportController
from marketplace.heap import freeze_start_up_objects
from marketplace.http import (
    EXCEPTION_HANDLERS,
    compression_config,
    correct_allow_header,
    document_unsupported_media_type,
    locate_created,
)
from marketplace.jobs import connect_redis
from marketplace.ledger.controller import LedgerController
from marketplace.listings.controller import ListingController, ProductController
from marketplace.logs import configure_logging
from marketplace.monitoring import MetricsController
from marketplace.openapi_schema import (
    DescribedOpenAPIConfig,
    StrictStructSchemaPlugin,
    partner_webhooks,
)
from marketplace.orders.controller import OrderController
from marketplace.orders.kitchens.controller import KitchenBudgetController, StandingOrderController
from marketplace.payments.controller import PaymentController
from marketplace.procurement.contracts.controller import TradeContractController
from marketplace.procurement.lots.controller import BulogLotController
from marketplace.procurement.sourcing.controller import SourcingController
from marketplace.rate_limits import RateLimiter, RateLimits
from marketplace.read_pool import ReadPool
from marketplace.reports.controller import ReportController
from marketplace.request_edge import edge_checks
from marketplace.request_ids import RequestIds
from marketplace.settings import Settings, load_settings, production_problems
from marketplace.system import HealthController
from marketplace.tracing import API_SERVICE, http_middleware, start_from_settings
from marketplace.web import (
    SESSION_STORE,
    PostgresSessionStore,
    pages_router,
    static_router,
    template_config,
)
from marketplace.webhooks.controller import WebhookController

API_VERSION = "1.0.0"
SWAGGER_ASSETS = Path(swagger_ui_bundle.__file__).parent / "vendor" / "swagger-ui-5.31.0"

DESCRIPTION = """\
B2B supply marketplace for Indonesia's Koperasi Merah Putih cooperatives.

Authenticate with `Authorization: Bearer <api key>`. Money is integer rupiah (IDR).
Errors are RFC 9457 `application/problem+json` bodies with a stable `code`. Lists use
keyset pagination (`limit`, `cursor` → `next_cursor`). POSTs that create orders,
payments, settlements and awards require an `Idempotency-Key` header.
"""


def controllers() -> list[type]:
    return [
        HealthController,
        MetricsController,
        OrganizationController,
        ProductController,
        ListingController,
        OrderController,
        KitchenBudgetController,
        StandingOrderController,
        LedgerController,
        BulogLotController,
        TradeContractController,
        ConsignmentController,
        ConsignmentSettlementController,
        WebhookController,
        PaymentController,
        SourcingController,
        DocumentController,
        KitchenReportController,
        ReportController,
    ]


def openapi_config() -> DescribedOpenAPIConfig:
    return DescribedOpenAPIConfig(
        title="Koperasi Marketplace API",
        version=API_VERSION,
        description=DESCRIPTION,
        servers=[Server(url="/")],
        path="/schema",
        render_plugins=[
            SwaggerRenderPlugin(
                path="/",
                js_url="/schema/assets/swagger-ui-bundle.js",
                css_url="/schema/assets/swagger-ui.css",
                standalone_preset_js_url="/schema/assets/swagger-ui-standalone-preset.js",
                favicon="<link rel='icon' href='/schema/assets/favicon-32x32.png'>",
            )
        ],
        components=Components(
            security_schemes={
                "apiKey": SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="An API key created for your organization",
                )
            }
        ),
        security=[{"apiKey": []}],
        use_handler_docstrings=False,
        webhooks=partner_webhooks(),
    )


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or load_settings()
    configure_logging(settings.log_level, settings.log_format)
    if settings.database_url is None or settings.redis_url is None:
        raise RuntimeError(
            "DATABASE_URL and REDIS_URL must be set (`marketplace serve` starts embedded "
            "servers and sets them when they are not)."
        )
    if problems := production_problems(settings):
        raise RuntimeError(
            "Refusing to start with MARKETPLACE_ENV=production: " + "; ".join(problems)
        )
    database_url, redis_url = settings.database_url, settings.redis_url
    traced = start_from_settings(settings, API_SERVICE)
    # The pages' sessions, in PostgreSQL; bound to the engine once the lifespan made it.
    page_sessions = PostgresSessionStore()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        engine = create_engine(
            database_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout_seconds,
            connect_timeout=settings.db_connect_timeout_seconds,
        )
        redis = connect_redis(redis_url, timeout=settings.redis_timeout_seconds)
        read_pool = ReadPool.for_database(
            database_url,
            max_size=settings.db_read_pool_size,
            acquire_timeout=settings.db_pool_timeout_seconds,
            connect_timeout=settings.db_connect_timeout_seconds,
        )
        app.state.settings = settings
        app.state.read_pool = read_pool
        app.state.engine = engine
        app.state.session_factory = create_session_factory(engine)
        page_sessions.sessions = app.state.session_factory
        app.state.read_session_factory = create_read_session_factory(engine)
        page_sessions.read_sessions = app.state.read_session_factory
        app.state.redis = redis
        app.state.rate_limiter = RateLimiter(redis, settings)
        # Authenticated keys are cached per process while subscribed to revocations.
        principal_cache = PrincipalCache(
            settings.auth_cache_ttl_seconds, probe_timeout=settings.redis_timeout_seconds
        )
        app.state.principal_cache = principal_cache
        subscriber = asyncio.create_task(principal_cache.run(redis), name="principal-cache")
        freeze_start_up_objects()
        try:
            yield
        finally:
            subscriber.cancel()
            # A shutdown never hangs on the subscription (it is given a moment to close).
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                async with asyncio.timeout(2.0):
                    await subscriber
            await redis.aclose()
            await read_pool.close()
            await engine.dispose()

    assets = create_static_files_router(
        path="/schema/assets", directories=[SWAGGER_ASSETS], include_in_schema=False
    )
    app = Litestar(
        route_handlers=[
            *controllers(),
            assets,
            Router(path="/", route_handlers=[]),
            pages_router(secure_cookies=settings.environment != "development"),
            static_router(),
        ],
        stores={SESSION_STORE: page_sessions},
        template_config=template_config(),
        dependencies={
            "uow": Provide(provide_uow),
            "principal": Provide(provide_principal),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        before_send=[correct_allow_header],
        after_request=locate_created,
        before_request=edge_checks,
        openapi_config=openapi_config(),
        # Off (no endpoint), no middleware at all: the stack is the untraced one.
        middleware=[http_middleware()] if traced else [],
        lifespan=[lifespan],
        plugins=[StrictStructSchemaPlugin()],
        compression_config=compression_config(),
        # Logging is `marketplace.logs`' alone (Litestar's default would replace the root
        # handler with its own plain-text one).
        logging_config=None,
        debug=False,
    )
    document_unsupported_media_type(app)
    # Outermost, around Litestar's own exception handling: every answer gets its id.
    # Inside it, the rate limits: a refusal gets an id and an access-log line too.
    level = logging.getLevelName(settings.log_level)
    app.asgi_handler = RequestIds(
        RateLimits(app.asgi_handler),
        access_log=not isinstance(level, int) or level <= logging.INFO,
    )
    return app


def build_openapi_schema(settings: Settings) -> dict[str, object]:
    return create_app(settings).openapi_schema.to_schema()
