"""The HTTP server `marketplace serve` runs the app under: uvicorn (default) or Granian.

Both are held to the same features, so choosing one changes speed only:
- `workers` processes, each building the app from `APP_FACTORY` (every process its own
  pools; `/metrics` sums their counts from `PROMETHEUS_MULTIPROC_DIR`, which `serve`
  sets before any worker starts, so each inherits it);
- graceful shutdown on SIGTERM: stop accepting, finish the requests in flight, run the
  app's lifespan shutdown (pools closed), then return to `serve`, which stops the arq
  worker it supervises (for Granian this needs HTTP/1 keep-alive off: see below);
- the access log is ours (`marketplace.request_ids`, one structured line per request in
  LOG_FORMAT), the server's own is off;
- forwarded addresses are read by `marketplace.client_address` alone, from the proxies
  TRUSTED_PROXIES names: neither server rewrites the client address (uvicorn would trust
  any loopback peer's X-Forwarded-For; Granian reads no proxy headers at all);
- the server's own lines (start, stop, errors) go through our logging.

The capacity benchmark (`bench/capacity.py`) measures both through `serve` with the same
app and workers, in alternating rounds. uvicorn stays the default: with keep-alive on
Granian placed orders faster at 2-16 clients, but with keep-alive off (which its graceful
shutdown needs) it was no faster than uvicorn in the same runs.
"""

from __future__ import annotations

import enum
import logging
from typing import Any

APP_FACTORY = "marketplace.app:create_app"


class HttpServer(enum.StrEnum):
    GRANIAN = "granian"
    UVICORN = "uvicorn"


DEFAULT_SERVER = HttpServer.UVICORN


def run(server: HttpServer, *, host: str, port: int, workers: int, log_level: str) -> None:
    """Serve the app until SIGTERM/SIGINT, then shut down gracefully and return."""
    if server is HttpServer.GRANIAN:
        _run_granian(host=host, port=port, workers=workers, log_level=log_level)
    else:
        _run_uvicorn(host=host, port=port, workers=workers, log_level=log_level)


def _run_uvicorn(*, host: str, port: int, workers: int, log_level: str) -> None:
    import uvicorn

    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level.lower(),
        # Our logging (`marketplace.logs`) for uvicorn's lines too.
        log_config=None,
        access_log=False,
        proxy_headers=False,
    )


def granian_log_config(log_level: str) -> dict[str, Any]:
    """Granian's loggers with no handlers of their own: their lines propagate to the root
    handler `marketplace.logs` installed (JSON with LOG_FORMAT=json). Granian applies this
    in its main process and in every worker before the app is built; the app's
    `configure_logging` then sets the root handler again, as under uvicorn."""
    level = logging.getLevelName(log_level.upper())
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {},
        "handlers": {},
        "loggers": {
            "_granian": {"handlers": [], "level": level, "propagate": True},
            "granian.access": {"handlers": [], "level": logging.WARNING, "propagate": True},
        },
    }


def _run_granian(*, host: str, port: int, workers: int, log_level: str) -> None:
    from granian.constants import Interfaces
    from granian.http import HTTP1Settings
    from granian.log import LogLevels
    from granian.server import Server

    level = log_level.lower()
    Server(
        APP_FACTORY,
        factory=True,
        address=host,
        port=port,
        # ASGI with lifespan: the app's startup (pools) and shutdown run in every worker.
        interface=Interfaces.ASGI,
        workers=workers,
        log_enabled=True,
        log_level=LogLevels(level if level in LogLevels.__members__ else "info"),
        log_dictconfig=granian_log_config(log_level),
        log_access=False,
        # Granian's graceful shutdown waits for every open connection, idle keep-alive
        # ones too (it cannot tell them from busy ones): one client holding a kept-alive
        # connection (a proxy's pool, a browser) kept a worker serving until
        # `workers_kill_timeout` killed it, lifespan shutdown unrun. Without keep-alive
        # each connection ends with its response, so SIGTERM waits for requests in
        # flight only, as uvicorn's does (it closes idle connections itself).
        http1_settings=HTTP1Settings(keep_alive=False),
        # A worker that dies is started again, as uvicorn's supervisor does.
        respawn_failed_workers=True,
        # A worker still busy this long after SIGTERM is killed (uvicorn has no limit;
        # Kubernetes's grace period is 30 s and SIGKILLs after it anyway).
        workers_kill_timeout=25,
    ).serve()
