"""OpenAPI generation tweaks so the contract says what the API enforces.

Litestar documents msgspec Structs without `additionalProperties: false`, though requests
with `forbid_unknown_fields=True` reject unknown fields; generated clients and contract
fuzzers would otherwise believe extra fields are accepted.

The partner events are the document's top-level `webhooks` (OpenAPI 3.1), one per
`PartnerEvent` class, so the committed contract (and its drift check) covers them too.

What the handlers cannot say about themselves is added to the finished document
(`DescribedOpenAPI.to_schema`): the headers every answer carries, set by layers outside
the handlers (`describe_response_headers`), and each operation's examples
(`marketplace.contract_examples`).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import msgspec
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.enums import ParamType
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import (
    OpenAPI,
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    PathItem,
    Reference,
    RequestBody,
    Schema,
)

from marketplace.contract_examples import attach_examples
from marketplace.events import PartnerEvent
from marketplace.idempotency import MAX_KEY_LENGTH
from marketplace.problem_catalogue import catalogue
from marketplace.request_ids import MAX_LENGTH as MAX_REQUEST_ID_LENGTH
from marketplace.webhooks.domain.events import PARTNER_EVENTS


class StrictStructSchemaPlugin(StructSchemaPlugin):
    def to_openapi_schema(self, field_definition: Any, schema_creator: Any) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        struct_type = field_definition.type_
        config = getattr(struct_type, "__struct_config__", None)
        if config is not None and config.forbid_unknown_fields:
            schema.additional_properties = False
        if getattr(struct_type, "__problem_codes__", False) and schema.properties:
            schema.properties["code"] = problem_code_schema()
        return schema


def problem_code_schema() -> Schema:
    """Every code of the catalogue, enumerated; a string still, so a client generated from
    this contract keeps reading problems whose code is newer than itself."""
    return Schema(
        any_of=[
            Schema(type=OpenAPIType.STRING, enum=list(catalogue()), title="ProblemCode"),
            Schema(type=OpenAPIType.STRING),
        ],
        description=(
            "Stable machine code of the error. Each is explained at `/problems/{code}` "
            "(the problem's `type`), in Bahasa Indonesia and English."
        ),
    )


# --- the partner events, as the document's top-level `webhooks` ---------------------------

_SUBSCHEMA_MAPS = {"properties", "patternProperties", "$defs"}
_SUBSCHEMA_LISTS = {"anyOf", "oneOf", "allOf", "prefixItems"}
_SUBSCHEMAS = {"items", "additionalProperties", "not", "if", "then", "else", "contains"}
_RENAMED = {"not": "schema_not", "if": "schema_if", "else": "schema_else"}


def _inlined(node: Any, defs: dict[str, Any]) -> Any:
    """A msgspec JSON Schema with every `#/$defs/...` reference replaced by its definition
    (the events nest no recursive types), so it stands on its own inside the document."""
    if isinstance(node, list):
        return [_inlined(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _inlined(defs[node["$ref"].removeprefix("#/$defs/")], defs)
    return {key: _inlined(value, defs) for key, value in node.items()}


def _snake(key: str) -> str:
    return _RENAMED.get(key) or "".join(f"_{c.lower()}" if c.isupper() else c for c in key)


def _schema(node: dict[str, Any]) -> Schema:
    """A JSON Schema (a dict) as Litestar's `Schema`, which writes it back the same."""
    fields: dict[str, Any] = {}
    for key, value in node.items():
        if key in _SUBSCHEMA_MAPS:
            value = {name: _schema(sub) for name, sub in value.items()}
        elif key in _SUBSCHEMA_LISTS:
            value = [_schema(sub) for sub in value]
        elif key in _SUBSCHEMAS and isinstance(value, dict):
            value = _schema(value)
        fields[_snake(key)] = value
    return Schema(**fields)


def event_data_schema(event_class: type[PartnerEvent]) -> Schema:
    """The message's `data`: the event's fields, every one always present."""
    generated = msgspec.json.schema(event_class)
    data = _inlined(generated, generated.get("$defs", {}))
    data.pop("$defs", None)
    data["required"] = list(data["properties"])
    for field in data["properties"].values():
        field.pop("default", None)
    return _schema(data)


def _operation_id(event_type: str) -> str:
    words = event_type.replace(".", "_").split("_")
    return words[0] + "".join(word.title() for word in words[1:]) + "Webhook"


_HEADERS = (
    ("webhook-id", "The event's id, the same on every retry: deduplicate by it."),
    ("webhook-timestamp", "When this attempt was signed, in Unix seconds."),
    (
        "webhook-signature",
        '`v1,` + base64 HMAC-SHA256 of `"{webhook-id}.{webhook-timestamp}.{body}"` keyed by '
        "the endpoint's secret (base64 after `whsec_`).",
    ),
)


def partner_webhooks() -> dict[str, PathItem | Reference]:
    """One entry per partner event type: the signed POST its subscribed endpoints receive
    (Standard Webhooks: `{"type", "timestamp", "data"}`), `data` being the event's fields."""
    webhooks: dict[str, PathItem | Reference] = {}
    for event_class in PARTNER_EVENTS:
        event_type = event_class.event_type
        summary = (event_class.__doc__ or event_type).strip().split("\n\n")[0]
        message = Schema(
            type=OpenAPIType.OBJECT,
            properties={
                "type": Schema(type=OpenAPIType.STRING, const=event_type),
                "timestamp": Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.DATE_TIME),
                "data": event_data_schema(event_class),
            },
            required=["type", "timestamp", "data"],
            additional_properties=False,
            title=f"{event_class.__name__}Message",
        )
        webhooks[event_type] = PathItem(
            post=Operation(
                operation_id=_operation_id(event_type),
                summary=" ".join(summary.split()),
                tags=["webhooks"],
                parameters=[
                    Parameter(
                        name=name,
                        param_in=ParamType.HEADER,
                        required=True,
                        schema=Schema(type=OpenAPIType.STRING),
                        description=description,
                    )
                    for name, description in _HEADERS
                ],
                request_body=RequestBody(
                    required=True, content={"application/json": OpenAPIMediaType(schema=message)}
                ),
                responses={
                    "2XX": OpenAPIResponse(description="Received: the delivery is done."),
                    "410": OpenAPIResponse(
                        description="Gone: the endpoint is disabled, nothing more is sent."
                    ),
                    "default": OpenAPIResponse(
                        description="Anything else (or no answer): retried with backoff."
                    ),
                },
            )
        )
    return webhooks


# --- what the finished document needs besides the handlers' own descriptions -------------


class DescribedOpenAPI(OpenAPI):
    """The document, completed with the response headers and examples on its way out."""

    def to_schema(self) -> dict[str, Any]:
        document = super().to_schema()
        describe_response_headers(document)
        attach_examples(document)
        return document


class DescribedOpenAPIConfig(OpenAPIConfig):
    """`OpenAPIConfig` whose document is a `DescribedOpenAPI` (Litestar builds the paths
    into the object this returns, then serves and exports its `to_schema()`)."""

    def to_openapi_schema(self) -> OpenAPI:
        plain = super().to_openapi_schema()
        return DescribedOpenAPI(
            **{f.name: getattr(plain, f.name) for f in dataclasses.fields(plain)}
        )


def _described(description: str, schema: dict[str, Any], *, required: bool) -> dict[str, Any]:
    return {"description": description, "required": required, "schema": schema}


_STRING = {"type": "string"}
RESPONSE_HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-ID": _described(
        f"The request's id: yours when you sent a sane `X-Request-ID` (up to "
        f"{MAX_REQUEST_ID_LENGTH} characters of `[A-Za-z0-9._:+=/-]`), a new one otherwise. "
        "Quote it to support; problem bodies repeat it as `request_id`.",
        {"type": "string", "maxLength": MAX_REQUEST_ID_LENGTH},
        required=True,
    ),
    "RateLimit-Policy": _described(
        'The rate limit policy that counted this request, e.g. `"key";q=6000;w=60` (6000 '
        "requests per 60-second window per API key). Absent when the limiter is unavailable "
        "(requests are then served uncounted).",
        _STRING,
        required=False,
    ),
    "RateLimit": _described(
        'What is left of the window, e.g. `"key";r=5999;t=60`: `r` requests remain, the '
        "window resets in `t` seconds (draft-ietf-httpapi-ratelimit-headers).",
        _STRING,
        required=False,
    ),
    "Retry-After": _described(
        "Seconds to wait before retrying.", {"type": "integer", "minimum": 0}, required=True
    ),
    "Location": _described(
        "Where the created object is read (`GET` on this path).",
        {"type": "string", "format": "uri-reference"},
        required=True,
    ),
    "Idempotent-Replayed": _described(
        "`true` when this is the stored answer of an earlier request with the same "
        "`Idempotency-Key` and body: nothing was done again.",
        {"type": "string", "enum": ["true"]},
        required=False,
    ),
}
_SERVICE_UNAVAILABLE = (
    "Temporarily unavailable (`service_unavailable`): the database is away or overloaded. "
    "Nothing was changed; retry after `Retry-After` seconds."
)


def _header(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/headers/{name}"}


def describe_response_headers(document: dict[str, Any]) -> None:
    """Document the headers that layers around the handlers add (`request_ids`,
    `rate_limits`, `http.locate_created`, `idempotency`), and the 503 every `/v1/`
    operation may answer when the database is away (`http.database_unavailable_handler`).

    Each header is described once, in `components.headers`, with whether it is always
    sent; an answer lists by reference the headers it carries."""
    components = document.setdefault("components", {})
    components["headers"] = {**components.get("headers", {}), **RESPONSE_HEADERS}
    paths: dict[str, dict[str, Any]] = document.get("paths", {})
    for path, item in paths.items():
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            _describe_operation(path, operation, paths)


def _describe_operation(path: str, operation: dict[str, Any], paths: dict[str, Any]) -> None:
    api = path.startswith("/v1/")
    idempotent = _require_idempotency_key(operation)
    responses: dict[str, dict[str, Any]] = operation["responses"]
    if api and "503" not in responses:
        responses["503"] = {
            "description": _SERVICE_UNAVAILABLE,
            "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            },
        }
    for status, response in responses.items():
        headers: dict[str, Any] = {"X-Request-ID": _header("X-Request-ID")}
        if api:
            headers["RateLimit-Policy"] = _header("RateLimit-Policy")
            headers["RateLimit"] = _header("RateLimit")
        if status in {"429", "503"}:
            headers["Retry-After"] = _header("Retry-After")
        if status.startswith("2") and idempotent:
            headers["Idempotent-Replayed"] = _header("Idempotent-Replayed")
        if status == "201":
            located = _readable_child(path, paths)
            if located:
                headers["Location"] = _header("Location")
            response["description"] = (
                "Created; `Location` says where to read it" if located else "Created"
            )
        response["headers"] = {**headers, **(response.get("headers") or {})}
        _mark_binary(response)


BINARY_MEDIA_TYPES = ("application/pdf",)


def _mark_binary(response: dict[str, Any]) -> None:
    """A PDF answer is bytes, not text: `format: binary` (and its media type), so a
    generated client hands back a file rather than a decoded string."""
    for media_type, media in response.get("content", {}).items():
        if media_type in BINARY_MEDIA_TYPES:
            media["schema"] = {"type": "string", "format": "binary", "contentMediaType": media_type}


def _readable_child(path: str, paths: dict[str, Any]) -> bool:
    """`GET <path>/{id}` exists, so `http.locate_created` sets `Location` on a 201."""
    child = re.compile(re.escape(path) + r"/\{[^/}]+\}")
    return any(child.fullmatch(other) and "get" in item for other, item in paths.items())


def _require_idempotency_key(operation: dict[str, Any]) -> bool:
    """`run_idempotent` refuses a request without the key (`idempotency.key_invalid`), so
    the header is required, and a string: never null, 1 to `MAX_KEY_LENGTH` characters."""
    for parameter in operation.get("parameters", ()):
        if parameter.get("in") == "header" and parameter.get("name") == "Idempotency-Key":
            parameter["required"] = True
            parameter["schema"] = {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_KEY_LENGTH,
                "description": parameter.get("description", ""),
            }
            return True
    return False
