"""HTTP edge pieces shared by every domain: RFC 9457 problems, keyset cursors, paging.

Every error leaves the API as `application/problem+json` with a stable machine `code`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import re
import uuid
from collections.abc import Callable, Sequence
from typing import Annotated, Any, ClassVar, Generic, TypeVar

import msgspec
import structlog
from litestar import Request, Response
from litestar.config.compression import CompressionConfig
from litestar.datastructures import URL, MutableScopeHeaders
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotFoundException,
    ValidationException,
)
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from marketplace.errors import BadRequest, DomainError
from marketplace.metrics import count_problem
from marketplace.outages import DatabaseUnavailable, database_unavailable
from marketplace.problem_catalogue import entry, preferred_language
from marketplace.request_ids import current_request_id, current_scope

log = structlog.get_logger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"


class Problem(msgspec.Struct, omit_defaults=True):
    """RFC 9457 problem details, plus our stable `code` and the explaining figures."""

    type: str
    title: str
    status: int
    code: str
    detail: str | None = None
    instance: str | None = None
    errors: list[dict[str, Any]] | None = None
    extra: dict[str, Any] | None = None
    # The request's `X-Request-ID` (`marketplace.request_ids`): quote it to support.
    request_id: str | None = None
    # The contract enumerates `code` from the catalogue (`marketplace.openapi_schema`).
    __problem_codes__: ClassVar[bool] = True


def _problem_response(request: Request[Any, Any, Any], problem: Problem) -> Response[Problem]:
    problem.instance = request.url.path
    problem.request_id = current_request_id()
    language = localize(problem, request.scope)
    count_problem(problem.code)
    return Response(
        problem,
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers={"Content-Language": language, "Vary": "Accept-Language"},
    )


def problem_base(scope: Any) -> str:
    """Where `/problems/{code}` is served: `PUBLIC_BASE_URL`, or the request's own origin."""
    settings = getattr(getattr(scope.get("app"), "state", None), "settings", None)
    public = getattr(settings, "public_base_url", None)
    if public:
        return str(public).rstrip("/")
    url = URL.from_scope(scope)
    return f"{url.scheme}://{url.netloc}{scope.get('root_path', '')}".rstrip("/")


def localize(problem: Problem, scope: Any) -> str:
    """The problem as the catalogue fixes it (`marketplace.problem_catalogue`): `type` the
    page explaining the code, `title` the code's own, both (and a generic detail) in the
    language `Accept-Language` prefers. Returns that language."""
    accept = None
    for name, value in scope.get("headers", ()):
        if name == b"accept-language":
            accept = value.decode("latin-1")
            break
    language = preferred_language(accept)
    problem.type = type_uri(problem.code, problem_base(scope))
    known = entry(problem.code)
    if known is not None:
        problem.title = known.title_in(language)
        problem.detail = known.detail_in(problem.detail, language)
    return language


def type_uri(code: str, base: str = "") -> str:
    return f"{base}/problems/{code}"


def domain_error_handler(request: Request[Any, Any, Any], exc: DomainError) -> Response[Problem]:
    extra = {k: _jsonable(v) for k, v in exc.extra.items()}
    return _problem_response(
        request,
        Problem(
            type=type_uri(exc.code),
            title=exc.title,
            status=exc.status,
            code=exc.code,
            detail=exc.detail,
            extra=extra or None,
        ),
    )


def _jsonable(value: Any) -> Any:
    return msgspec.to_builtins(value, str_keys=True, enc_hook=str)


def validation_error_handler(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[Problem]:
    errors = exc.extra if isinstance(exc.extra, list) else None
    return _problem_response(
        request,
        Problem(
            type=type_uri("validation_failed"),
            title="The request is not valid",
            status=400,
            code="validation_failed",
            detail=_validation_detail(exc, errors),
            errors=[{k: _jsonable(v) for k, v in e.items()} for e in errors] if errors else None,
        ),
    )


def _validation_detail(exc: ValidationException, errors: list[Any] | None) -> str:
    if errors:
        first = errors[0]
        if isinstance(first, dict) and first.get("message"):
            key = first.get("key")
            return f"{first['message']}" + (f" (at {key})" if key else "")
    return str(exc.detail)


_HTTP_CODES = {
    400: "bad_request",
    401: "auth.unauthenticated",
    403: "auth.forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}
# Any other HTTP status the framework refuses with.
OTHER_HTTP_CODE = "http_error"


def http_error_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Problem]:
    status = exc.status_code
    code = _HTTP_CODES.get(status, OTHER_HTTP_CODE)
    detail = exc.detail
    if isinstance(exc, NotFoundException):
        detail = "No such resource."
    elif isinstance(exc, MethodNotAllowedException):
        detail = "This method is not allowed on this resource."
    response = _problem_response(
        request,
        Problem(type=type_uri(code), title="", status=status, code=code, detail=detail),
    )
    if exc.headers:  # e.g. `Allow` on 405, `Retry-After` on 429
        response.headers.update(exc.headers)
    return response


def database_error_handler(request: Request[Any, Any, Any], exc: DBAPIError) -> Response[Problem]:
    """A lost or refused database connection is our outage, not the client's error: 503,
    and the transaction was rolled back, so the client may retry. Any other database
    error is a bug (500). What counts as an outage: `marketplace.outages`."""
    if not database_unavailable(exc):
        return unexpected_error_handler(request, exc)
    log.warning("database_unavailable", path=request.url.path, error=type(exc.orig).__name__)
    return _service_unavailable(
        request, "The database connection was lost; nothing was changed. Retry shortly."
    )


def database_unavailable_handler(
    request: Request[Any, Any, Any], exc: DatabaseUnavailable
) -> Response[Problem]:
    """The database could not be reached at all (stopped, restarting, refused, timed out),
    by the engine or the read pool (`ReadUnavailable`)."""
    log.warning("database_unavailable", path=request.url.path, error=repr(exc.__cause__))
    return _service_unavailable(request, exc.detail)


def pool_exhausted_handler(
    request: Request[Any, Any, Any], exc: PoolTimeoutError
) -> Response[Problem]:
    """No pooled connection came free within the pool timeout: overload, not a bug."""
    log.warning("database_pool_exhausted", path=request.url.path)
    return _service_unavailable(
        request, "The service is overloaded; nothing was changed. Retry shortly."
    )


def _service_unavailable(request: Request[Any, Any, Any], detail: str) -> Response[Problem]:
    response = _problem_response(
        request,
        Problem(
            type=type_uri("service_unavailable"),
            title="Temporarily unavailable",
            status=503,
            code="service_unavailable",
            detail=detail,
        ),
    )
    response.headers["Retry-After"] = "1"
    return response


def unexpected_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    log.exception("unhandled_error", path=request.url.path, error=repr(exc))
    return _problem_response(
        request,
        Problem(
            type=type_uri("internal_error"),
            title="Internal error",
            status=500,
            code="internal_error",
            detail="Something went wrong on our side; it has been logged.",
        ),
    )


EXCEPTION_HANDLERS: dict[Any, Any] = {
    DomainError: domain_error_handler,
    ValidationException: validation_error_handler,
    HTTPException: http_error_handler,
    DBAPIError: database_error_handler,
    DatabaseUnavailable: database_unavailable_handler,
    PoolTimeoutError: pool_exhausted_handler,
    Exception: unexpected_error_handler,
}


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI documentation of the problem responses an operation can return.

    400 is always listed: any parameter can fail validation, and our 400 is a problem
    body, not the framework's default shape. So is 429: every request is rate limited
    (`marketplace.rate_limits`).
    """
    descriptions = {
        400: "Malformed request or failed validation",
        401: "Missing, malformed or revoked API key",
        403: "The key's role may not do this",
        404: "No such object in your organization",
        409: "Conflicts with the current state (or the same Idempotency-Key is in flight)",
        412: (
            "`If-Match` no longer matches (`precondition_failed`): someone changed the "
            "object since you read it; nothing was changed"
        ),
        422: "Breaks a business rule; the problem names the figures",
        429: (
            "Over a rate limit (`rate_limited`): see `Retry-After`, `RateLimit` and "
            "`RateLimit-Policy`"
        ),
    }
    return {
        s: ResponseSpec(
            data_container=Problem,
            description=descriptions.get(s, "Problem"),
            media_type=PROBLEM_MEDIA_TYPE,
            generate_examples=False,
        )
        for s in sorted({400, 429, *statuses})
    }


def document_unsupported_media_type(app: Any) -> None:
    """Every operation that reads a JSON body lists its 415 (`request_edge.edge_checks`)."""
    spec = ResponseSpec(
        data_container=Problem,
        description="The body is not JSON (`unsupported_media_type`)",
        media_type=PROBLEM_MEDIA_TYPE,
        generate_examples=False,
    )
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if handler.include_in_schema and handler.parsed_data_field is not None:
                handler.responses = {**(handler.responses or {}), 415: spec}


def compression_config() -> CompressionConfig:
    """gzip for every body of 2 KiB or more (clients are often on mobile networks).

    Level 3, the best of zlib's fast levels: a 40 KB catalogue page takes 0.09 ms and
    shrinks to 4.6 KB; levels 4-6 take 0.24-0.29 ms for 4.3-4.2 KB — a sixth of a cheap
    search's whole time spent for 400 bytes, about a millisecond on a slow mobile link.
    """
    return CompressionConfig(backend="gzip", minimum_size=2048, gzip_compress_level=3)


# --- keyset pagination -------------------------------------------------------------

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


def encode_cursor(key: Sequence[Any]) -> str:
    raw = msgspec.json.encode([_jsonable(k) for k in key])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class InvalidCursor(BadRequest):
    code = "pagination.invalid_cursor"


KeyT = TypeVar("KeyT", bound=tuple[Any, ...])


class CursorKey(Generic[KeyT]):
    """The exact shape of one kind of cursor, decoded strictly by msgspec."""

    def __init__(self, key_type: Any) -> None:
        self._decoder = msgspec.json.Decoder(key_type, strict=True)

    def decode(self, raw: bytes) -> KeyT:
        key: KeyT = self._decoder.decode(raw)
        return key


# A cursor is what `encode_cursor` wrote for one of these keys, nothing else: an id alone,
# or an int64 (BIGINT column) and an id. Decoding into the exact tuple type refuses any
# other shape at its first element, so no nesting is ever followed and no number reaches
# the database that its column can't hold.
Int64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
ID_KEY: CursorKey[tuple[uuid.UUID]] = CursorKey(tuple[uuid.UUID])
PRICE_KEY: CursorKey[tuple[int, uuid.UUID]] = CursorKey(tuple[Int64, uuid.UUID])
DATE_KEY: CursorKey[tuple[dt.date]] = CursorKey(tuple[dt.date])
# The longest key above encodes to 82 characters.
MAX_CURSOR_LENGTH = 128
_CURSOR_TEXT = re.compile(r"[A-Za-z0-9_-]+")


def decode_cursor(cursor: str | None, key: CursorKey[KeyT]) -> KeyT | None:
    """The one decoder of every keyset cursor: strict base64url of bounded length, then
    JSON of exactly the key's shape. Anything else is 400 `pagination.invalid_cursor`."""
    if cursor is None or cursor == "":
        return None
    if len(cursor) > MAX_CURSOR_LENGTH or not _CURSOR_TEXT.fullmatch(cursor):
        raise InvalidCursor("The cursor is not one this API issued.", parameter="cursor")
    try:
        return key.decode(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, msgspec.DecodeError, ValueError) as exc:  # incl. bad UTF-8
        raise InvalidCursor("The cursor is not one this API issued.", parameter="cursor") from exc


def decode_date_cursor(cursor: str | None) -> dt.date | None:
    """Cursor of lists ordered by a date that is unique within the list."""
    key = decode_cursor(cursor, DATE_KEY)
    return None if key is None else key[0]


def decode_id_cursor(cursor: str | None) -> uuid.UUID | None:
    """Cursor of lists ordered by id alone."""
    key = decode_cursor(cursor, ID_KEY)
    return None if key is None else key[0]


# Query parameters every list endpoint takes.
PageLimit = Annotated[int, Parameter(ge=1, le=MAX_PAGE_SIZE, description="Page size")]
PageCursor = Annotated[str | None, Parameter(description="`next_cursor` of the previous page")]

Row = TypeVar("Row")


def paginate(
    rows: Sequence[Row], limit: int, cursor_key: Callable[[Row], Sequence[Any]]
) -> tuple[Sequence[Row], str | None]:
    """Rows were fetched with `limit + 1`: the page, and the cursor of the next one."""
    page = rows[:limit]
    more = len(rows) > limit
    return page, encode_cursor(cursor_key(page[-1])) if more and page else None


async def locate_created(response: Response[Any]) -> Response[Any]:
    """`after_request` hook: a 201 whose object can be read at `<path>/<id>` says where
    (`Location`), as RFC 9110 asks of a created resource."""
    if response.status_code != 201 or "location" in response.headers:
        return response
    object_id = getattr(response.content, "id", None)
    scope = current_scope()
    if object_id is None or scope is None:
        return response
    template, app = scope.get("path_template"), scope.get("app")
    if template is not None and app is not None and template in _readable_collections(app):
        response.headers["Location"] = f"{scope['path'].rstrip('/')}/{object_id}"
    return response


@functools.cache
def _readable_collections(app: Any) -> frozenset[str]:
    """Path templates `P` for which `GET P/{an_id}` is a route."""
    found = set()
    for route in app.routes:
        path = getattr(route, "path_format", "")
        parent, _, last = path.rpartition("/")
        if "GET" in getattr(route, "methods", ()) and last.startswith("{") and parent:
            found.add(parent)
    return frozenset(found)


async def correct_allow_header(message: Any, scope: Any) -> None:
    """`before_send` hook: OPTIONS answers list every method of the path.

    Litestar 2's automatic OPTIONS handler keeps the method set of the first handler
    registered on a path, so `GET` + `POST` on one path answered `Allow: OPTIONS, POST`.
    """
    if message["type"] != "http.response.start" or scope.get("method") != "OPTIONS":
        return
    template = scope.get("path_template")
    app = scope.get("app")
    if template is None or app is None:
        return
    methods: set[str] = set()
    for route in app.routes:
        if getattr(route, "path_format", None) == template:
            methods |= set(getattr(route, "methods", ()))
    if methods:
        headers = MutableScopeHeaders.from_message(message)
        headers["Allow"] = ", ".join(sorted(methods))
