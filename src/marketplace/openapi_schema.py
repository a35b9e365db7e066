"""OpenAPI generation tweaks so the contract says what the API enforces.

Litestar documents msgspec Structs without `additionalProperties: false`, though requests
with `forbid_unknown_fields=True` reject unknown fields; generated clients and contract
fuzzers would otherwise believe extra fields are accepted.

The partner events are the document's top-level `webhooks` (OpenAPI 3.1), one per
`PartnerEvent` class, so the committed contract (and its drift check) covers them too.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.enums import ParamType
from litestar.openapi.spec import (
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

from marketplace.events import PartnerEvent
from marketplace.problem_catalogue import catalogue
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
