"""The checks every request passes at the edge, before any handler or decoder sees it.

One `before_request` hook for every route: what Litestar would let through or turn into a
500 (NUL characters, dates beyond what date arithmetic survives, bodies that are not UTF-8
or nest deep enough to exhaust a decoder's recursion, loosely typed JSON) is refused here
as a 400 problem, so a use case never runs on it.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import HTTPException, ValidationException

from marketplace.dates import out_of_range
from marketplace.errors import NotAuthenticated


async def edge_checks(request: Request[Any, Any, Any]) -> None:
    """`before_request` hook: checks every request gets at the edge, before any handler.

    No NUL characters in query or body (PostgreSQL text can't hold them); date query
    parameters within the accepted range; no key means 401 before the body is judged; a
    body must be UTF-8 JSON nested at most `MAX_JSON_DEPTH` deep; and it must match its
    declared type exactly — Litestar converts leniently (`"quantity": "5"` or `"active": 0`
    would pass), and an integration that sends the wrong types should learn it, not be
    guessed at.
    """
    if b"%00" in request.scope.get("query_string", b"").lower():
        # PostgreSQL text can't hold NUL; refuse it here rather than fail at the database.
        raise ValidationException(
            detail="Query parameters may not contain NUL (%00) characters.",
            extra=[{"message": "NUL character", "key": "query", "source": "query"}],
        )
    _check_date_parameters(request)
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    field = request.route_handler.parsed_data_field
    # Who is asking comes before what they sent: no key is a 401 whatever the body.
    if "principal" in request.route_handler.parsed_fn_signature.parameters and not (
        request.headers.get("authorization")
    ):
        raise NotAuthenticated("Send your API key as `Authorization: Bearer <key>`.")
    body = await request.body()
    if not body:
        return
    if field is not None and not _is_json(request.headers.get("content-type")):
        # A body this API would decode as JSON must say it is JSON: `text/plain` or a form
        # is the client's mistake, not something to guess at.
        raise HTTPException(
            status_code=415,
            detail="Send the body as JSON (`Content-Type: application/json`).",
        )
    _check_readable_json(body)
    if field is None:
        return
    if b"\\u0000" in body and _has_nul(_decoded_or_none(body)):
        raise ValidationException(
            detail="Text may not contain NUL (\\u0000) characters.",
            extra=[{"message": "NUL character in a string", "key": "data", "source": "body"}],
        )
    try:
        msgspec.json.decode(body, type=field.annotation, strict=True)
    except msgspec.ValidationError as exc:
        raise ValidationException(
            detail="The request body does not match the schema.",
            extra=[{"message": str(exc), "key": "data", "source": "body"}],
        ) from exc
    except msgspec.DecodeError:
        return  # malformed JSON: Litestar's own decoding reports it


# Deeper than any request schema (the deepest is 4), shallow enough that no decoder or
# walk over a body can exhaust the interpreter's recursion limit (1,000).
MAX_JSON_DEPTH = 32
_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'[]{}"')
# One pass removes the innermost pairs of both kinds at once (two `replace` calls in a row
# would peel `{[]}` whole, two levels in one round).
_INNERMOST_PAIR = re.compile(rb"\[\]|\{\}")


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "application/json":
        return True
    return media.startswith("application/") and media.endswith("+json")


def _check_readable_json(body: bytes) -> None:
    """Every body, on every route: UTF-8, and its brackets balanced and nested at most
    `MAX_JSON_DEPTH` deep — before anything decodes it (an untyped decode of 5,000 nested
    arrays raises RecursionError, invalid UTF-8 UnicodeDecodeError)."""
    try:
        body.decode()
    except UnicodeDecodeError as exc:
        message = f"The request body is not UTF-8 text (invalid byte at {exc.start})."
        raise ValidationException(
            detail=message, extra=[{"message": message, "key": "data", "source": "body"}]
        ) from exc
    if _nesting_fits(body, MAX_JSON_DEPTH):
        return
    message = f"The request body is not JSON nested at most {MAX_JSON_DEPTH} levels deep."
    raise ValidationException(
        detail=message, extra=[{"message": message, "key": "data", "source": "body"}]
    )


def _nesting_fits(body: bytes, limit: int) -> bool:
    """Peel innermost `[]`/`{}` pairs (outside strings) once per level, at C speed: a
    balanced body nested `d` deep is empty after exactly `d` rounds."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return True
    if b"\\" in body:
        body = _ESCAPE.sub(b"", body)  # no escaped quote is left to end a string early
    # Only brackets and quotes remain; every other piece between quotes is a string.
    brackets = b"".join(body.translate(None, _NOT_STRUCTURE).split(b'"')[::2])
    for _ in range(limit):
        if not brackets:
            return True
        peeled = _INNERMOST_PAIR.sub(b"", brackets)
        if peeled == brackets:
            return False  # unbalanced
        brackets = peeled
    return not brackets


def _check_date_parameters(request: Request[Any, Any, Any]) -> None:
    """Date and date-time query parameters: ISO 8601 only (Litestar would also read a
    number as seconds since 1970) and within the range every request date keeps to
    (`marketplace.dates`)."""
    for name, kind in _date_parameters(request.route_handler):
        raw = request.query_params.get(name)
        if raw is None:
            continue
        try:
            value = kind.fromisoformat(raw)
        except ValueError as exc:
            expected = "date-time" if kind is dt.datetime else "date"
            message = f"`{name}` must be an ISO 8601 {expected}."
            raise ValidationException(
                detail=message, extra=[{"message": message, "key": name, "source": "query"}]
            ) from exc
        if reason := out_of_range(value):
            message = f"`{name}` {reason}."
            raise ValidationException(
                detail=message, extra=[{"message": message, "key": name, "source": "query"}]
            )


@functools.cache
def _date_parameters(handler: Any) -> tuple[tuple[str, type[dt.date]], ...]:
    found = []
    for name, field in handler.parsed_fn_signature.parameters.items():
        kwarg = field.kwarg_definition
        if getattr(kwarg, "header", None) or getattr(kwarg, "cookie", None):
            continue
        types = (
            [t.annotation for t in field.inner_types] if field.is_optional else [field.annotation]
        )
        for kind in (dt.datetime, dt.date):  # a datetime is a date too: test it first
            if any(isinstance(t, type) and issubclass(t, kind) for t in types):
                found.append((getattr(kwarg, "query", None) or name, kind))
                break
    return tuple(found)


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _decoded_or_none(body: bytes) -> Any:
    try:
        return msgspec.json.decode(body)
    except msgspec.DecodeError:
        return None  # malformed JSON: Litestar's own decoding reports it
