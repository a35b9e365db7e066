"""A minimal Litestar app: the framework's and server's own per-request cost.

Served exactly like the API (`uvicorn.run(..., factory=True, workers=W)`, same log level)
so that the difference between the two is what the marketplace's own code costs.
`python -m bench.minimal_app --port N --workers W`.
"""

from __future__ import annotations

import argparse
import os

import uvicorn
from litestar import Litestar, get

PAYLOAD = {"status": "ok", "items": [], "next_cursor": None}


@get("/ping", sync_to_thread=False)
def ping() -> dict[str, object]:
    return PAYLOAD


def create_app() -> Litestar:
    return Litestar(route_handlers=[ping], debug=False)


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
