"""OpenAPI generation tweaks so the contract says what the API enforces.

Litestar documents msgspec Structs without `additionalProperties: false`, though requests
with `forbid_unknown_fields=True` reject unknown fields; generated clients and contract
fuzzers would otherwise believe extra fields are accepted.
"""

from __future__ import annotations

from typing import Any

from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.openapi.spec import Schema


class StrictStructSchemaPlugin(StructSchemaPlugin):
    def to_openapi_schema(self, field_definition: Any, schema_creator: Any) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        struct_type = field_definition.type_
        config = getattr(struct_type, "__struct_config__", None)
        if config is not None and config.forbid_unknown_fields:
            schema.additional_properties = False
        return schema
