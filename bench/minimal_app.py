"""Minimal Litestar apps: the framework's and server's own per-request cost.

Served exactly like the API (`uvicorn.run(..., factory=True, workers=W)`, same log level)
so that the difference between the two is what the marketplace's own code costs.
`python -m bench.minimal_app --port N --workers W`.

- `GET /ping`: a few bytes, no middleware — the bare framework + server + client cost.
- `GET /page` (only when `BENCH_PAGE_FILE` names a JSON catalogue page the API served;
  that app has the API's gzip middleware, `/ping` is then not the bare figure): the same
  framework returning that page, decoded once
  at start-up into the API's response Structs — so every request pays what any handler
  returning such a page pays (msgspec encoding of ~40 KB, gzip), and nothing else
  (no authentication, no database, no row conversion).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import msgspec
import uvicorn
from litestar import Litestar, get

from marketplace.http import compression_config
from marketplace.listings.schemas import ListingPage

PAYLOAD: dict[str, object] = {"status": "ok", "items": [], "next_cursor": None}
PAGE_FILE_ENV = "BENCH_PAGE_FILE"


@get("/ping", sync_to_thread=False)
def ping() -> dict[str, object]:
    return PAYLOAD


def create_app() -> Litestar:
    page_file = os.environ.get(PAGE_FILE_ENV)
    if not page_file:
        return Litestar(route_handlers=[ping], debug=False)
    page = msgspec.json.decode(Path(page_file).read_bytes(), type=ListingPage)

    @get("/page", sync_to_thread=False)
    def prebuilt_page() -> ListingPage:
        return page

    return Litestar(
        route_handlers=[ping, prebuilt_page], compression_config=compression_config(), debug=False
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    uvicorn.run(
        "bench.minimal_app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=os.environ.get("LOG_LEVEL", "WARNING").lower(),
        proxy_headers=True,
    )


if __name__ == "__main__":
    main()
