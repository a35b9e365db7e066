"""The same-work floor for the API's single-object reads (issue #19 item 2).

What `GET /v1/listings/{id}`, `GET /v1/orders/{id}` and
`GET /v1/consignment/statements/{id}` cannot do without: a Litestar
handler, the caller's key looked up in an in-process dict (no database, no cache layer),
the API's own statement sent through an `asyncpg` pool, and the same answer encoded by
msgspec — the same bytes as the API's, ETag included. No middleware, no unit of work, no
rate limit, no request id. Served by uvicorn exactly as the API and the minimal app are,
so the API's rate against this one is the share of the floor it reaches.

`python -m bench.floor_app --port N --workers W`, with `DATABASE_URL` and
`BENCH_FLOOR_KEYS` (`<bearer key>=<organization id>`, comma-separated).
"""

from __future__ import annotations

import argparse
import os
import uuid
from typing import Any

import asyncpg
import uvicorn
from litestar import Litestar, Request, Response, get
from litestar.exceptions import NotAuthorizedException, NotFoundException

from marketplace.accounts import OrganizationKind, Principal, Role
from marketplace.consignment.schemas import StatementOut
from marketplace.consignment.statement_read_repository import STATEMENT_SQL, statement_read
from marketplace.listings.controller import listing_row_out
from marketplace.listings.schemas import ListingOut
from marketplace.listings.search_repository import ONE_LISTING_SQL
from marketplace.orders.controller import read_out
from marketplace.orders.read_repository import ORDER_STATEMENT, order_read
from marketplace.orders.schemas import OrderOut
from marketplace.read_pool import asyncpg_dsn

KEYS_ENV = "BENCH_FLOOR_KEYS"
_pool: dict[str, asyncpg.Pool] = {}


def _keys() -> dict[str, Principal]:
    keys = {}
    for pair in filter(None, os.environ.get(KEYS_ENV, "").split(",")):
        key, organization = pair.split("=")
        keys[f"Bearer {key}"] = Principal(
            organization_id=uuid.UUID(organization),
            organization_kind=OrganizationKind.KITCHEN,
            role=Role.BUYER,
        )
    return keys


KEYS = _keys()


def caller(request: Request[Any, Any, Any]) -> Principal:
    principal = KEYS.get(request.headers.get("authorization", ""))
    if principal is None:
        raise NotAuthorizedException()
    return principal


@get("/v1/listings/{listing_id:uuid}")
async def get_listing(
    request: Request[Any, Any, Any], listing_id: uuid.UUID
) -> Response[ListingOut]:
    caller(request)
    row = await _pool["db"].fetchrow(ONE_LISTING_SQL, listing_id)
    if row is None or row[13] != "active":
        raise NotFoundException()
    *columns, version = row
    return Response(listing_row_out(columns), headers={"ETag": f'"{version}"'})


@get("/v1/orders/{order_id:uuid}")
async def get_order(request: Request[Any, Any, Any], order_id: uuid.UUID) -> OrderOut:
    principal = caller(request)
    row = await _pool["db"].fetchrow(ORDER_STATEMENT, order_id, False, principal.organization_id)
    if row is None:
        raise NotFoundException()
    read = order_read(row)
    return read_out(read, full=read.buyer_organization_id == principal.organization_id)


@get("/v1/consignment/statements/{statement_id:uuid}")
async def get_statement(request: Request[Any, Any, Any], statement_id: uuid.UUID) -> StatementOut:
    principal = caller(request)
    row = await _pool["db"].fetchrow(STATEMENT_SQL, statement_id, False, principal.organization_id)
    if row is None:
        raise NotFoundException()
    return statement_read(row)


async def _open() -> None:
    _pool["db"] = await asyncpg.create_pool(
        asyncpg_dsn(os.environ["DATABASE_URL"]), min_size=2, max_size=10
    )


async def _close() -> None:
    await _pool.pop("db").close()


@get("/ping", sync_to_thread=False)
def ping() -> dict[str, str]:
    return {"status": "ok"}


def create_app() -> Litestar:
    return Litestar(
        route_handlers=[get_listing, get_order, get_statement, ping],
        on_startup=[_open],
        on_shutdown=[_close],
        debug=False,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8002)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    uvicorn.run(
        "bench.floor_app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=os.environ.get("LOG_LEVEL", "WARNING").lower(),
    )


if __name__ == "__main__":
    main()
