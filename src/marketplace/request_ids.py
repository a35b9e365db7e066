"""Request ids and the access log: the outermost layer of every HTTP answer.

Every request gets an id: the caller's `X-Request-ID` when it is a sane one (at most
`MAX_LENGTH` characters of `[A-Za-z0-9._:+=/-]`), a new one otherwise. It is returned
as `X-Request-ID` on every answer (API, pages, static files, errors, even a 404 of no
route), named in every problem body (`request_id`), bound into every log line written
while the request runs (structlog's context variables, which the stdlib handler merges
too), and carried into the jobs the request enqueues (`marketplace.jobs`), so a partner
quoting the id finds the request, its SQL errors and its jobs' lines in the log.

Each request is also observed for `/metrics` (`marketplace.metrics`).

Every answer also gets `X-Content-Type-Options: nosniff`, and API (`/v1/`) answers
`Cache-Control: no-store`.

The access log is one structlog line per request (`http_request`, at INFO): JSON when
`LOG_FORMAT=json`, like every other line; uvicorn's own access log is off.

`RequestIds` wraps the application's ASGI handler (`marketplace.app`), outside
Litestar's exception handling, so it sees every answer — routing 404s included, which
app-level middleware never does.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

import structlog

from marketplace.metrics import observe_request

HEADER = "x-request-id"
_HEADER_BYTES = HEADER.encode()
_REPLAYED = b"idempotent-replayed"
API_PREFIX = "/v1/"
# Every answer: browsers must not guess a type (a JSON string rendered as HTML). API
# answers: never stored by a cache on the way (they are one organization's data).
_NOSNIFF = (b"x-content-type-options", b"nosniff")
_NO_STORE = (b"cache-control", b"no-store")
_scope: ContextVar[Any] = ContextVar("request_scope", default=None)
MAX_LENGTH = 128
_SANE = re.compile(rb"[A-Za-z0-9._:+=/-]{1,%d}" % MAX_LENGTH)

_current: ContextVar[str | None] = ContextVar("request_id", default=None)
access_log = structlog.get_logger("marketplace.access")
# structlog's own context variable for `request_id` (what `bind_contextvars` sets), so
# `merge_contextvars` puts it on every line.
_LOG_REQUEST_ID: ContextVar[Any] = structlog.contextvars._CONTEXT_VARS.setdefault(
    "structlog_request_id", ContextVar("structlog_request_id", default=Ellipsis)
)


def current_request_id() -> str | None:
    """The id of the request (or of the job a request enqueued) being served, if any."""
    return _current.get()


def current_scope() -> Any:
    """The ASGI scope of the request being served (`marketplace.http.locate_created`)."""
    return _scope.get()


def new_request_id() -> str:
    return os.urandom(16).hex()


def accepted(raw: bytes | None) -> str | None:
    """The caller's id when it is sane (bounded, a safe charset), else None."""
    if raw is None or not _SANE.fullmatch(raw):
        return None
    return raw.decode("ascii")


@contextlib.contextmanager
def bound(request_id: str) -> Iterator[None]:
    """Within: `current_request_id()` is this id and every log line carries it."""
    token = _current.set(request_id)
    try:
        with structlog.contextvars.bound_contextvars(request_id=request_id):
            yield
    finally:
        _current.reset(token)


def _from_headers(headers: list[tuple[bytes, bytes]]) -> bytes | None:
    for name, value in headers:
        if name == _HEADER_BYTES:
            return value
    return None


class RequestIds:
    """ASGI wrapper: gives the request its id, returns it, writes the access line."""

    def __init__(self, app: Any, *, access_log: bool = True) -> None:
        self.app = app
        # Off when the log level is above INFO: not even the line's fields are gathered.
        self.access_log = access_log

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = accepted(_from_headers(scope["headers"])) or new_request_id()
        added = [(_HEADER_BYTES, request_id.encode()), _NOSNIFF]
        if scope["path"].startswith(API_PREFIX):
            added.append(_NO_STORE)
        status = 500  # what the client sees if the app dies before answering
        replayed = False
        started = time.perf_counter()

        async def send_with_id(message: Any) -> None:
            nonlocal status, replayed
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.get("headers", ())
                if status == 201:
                    replayed = any(name.lower() == _REPLAYED for name, _ in headers)
                message["headers"] = [*headers, *added]
            await send(message)

        # `bound()` spelled out: this runs on every request.
        token, scope_token = _current.set(request_id), _scope.set(scope)
        log_token = _LOG_REQUEST_ID.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = scope.get("path_template")
            observe_request(scope["method"], route, status, seconds, replayed)
            if self.access_log:
                access_log.info(
                    "http_request",
                    method=scope["method"],
                    path=scope["path"],
                    route=route,
                    status=status,
                    duration_ms=round(seconds * 1000, 2),
                )
            _LOG_REQUEST_ID.reset(log_token)
            _scope.reset(scope_token)
            _current.reset(token)
