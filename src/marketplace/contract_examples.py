"""Examples of every operation's request and answer, for partner developers and SDKs.

Each context keeps its examples in its own `examples.py`, keyed by the component schema
they illustrate, with Indonesian data (`marketplace.example_cast`):

- `REQUESTS`: a whole request body per schema;
- `RESPONSES`: per response schema, the fields worth spelling out; the other fields are
  filled by name from `example_cast.FIELDS`, nullable ones left `null`, nested objects
  the same way, so a shape shared by many answers is written once;
- `OPERATIONS` (optional): an operation's whole answer, by `operationId`, where the
  answer is not one schema (a CSV text, an OCDS package).

tests/test_contract_docs.py validates every example against its schema and fails on a
string field nobody gave a value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from marketplace import example_cast
from marketplace.accounts import examples as accounts
from marketplace.consignment import examples as consignment
from marketplace.documents import examples as documents
from marketplace.ledger import examples as ledger
from marketplace.listings import examples as listings
from marketplace.orders import examples as orders
from marketplace.payments import examples as payments
from marketplace.procurement import examples as procurement
from marketplace.reports import examples as reports
from marketplace.webhooks import examples as webhooks

EXAMPLE_MODULES: tuple[ModuleType, ...] = (
    accounts, listings, orders, consignment, procurement, ledger, payments, webhooks,
    reports, documents,
)  # fmt: skip
# The health checks' answer (`marketplace.system`).
SYSTEM: dict[str, dict[str, Any]] = {
    "Health": {"status": "ok", "checks": {"database": "ok", "redis": "ok", "worker": "ok"}}
}
_SCHEMA_PREFIX = "#/components/schemas/"
MAIN_ANSWERS = ("200", "201", "202")


@dataclass
class Examples:
    requests: dict[str, Any] = field(default_factory=dict)
    responses: dict[str, dict[str, Any]] = field(default_factory=dict)
    operations: dict[str, Any] = field(default_factory=dict)
    # Fields the synthesis had no value for: `schema.field`.
    unexplained: set[str] = field(default_factory=set)


def collected() -> Examples:
    examples = Examples(responses=dict(SYSTEM))
    for module in EXAMPLE_MODULES:
        examples.requests.update(getattr(module, "REQUESTS", {}))
        examples.responses.update(getattr(module, "RESPONSES", {}))
        examples.operations.update(getattr(module, "OPERATIONS", {}))
    return examples


def attach_examples(document: dict[str, Any], examples: Examples | None = None) -> Examples:
    """Put an example on every operation's request body and main answer (JSON or text)."""
    examples = examples or collected()
    schemas = document.get("components", {}).get("schemas", {})
    for item in document.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for media in operation.get("requestBody", {}).get("content", {}).values():
                name = _schema_name(media.get("schema", {}))
                if name in examples.requests:
                    media["example"] = examples.requests[name]
            for status in MAIN_ANSWERS:
                for media_type, media in (
                    operation["responses"].get(status, {}).get("content", {}).items()
                ):
                    if operation.get("operationId") in examples.operations:
                        media["example"] = examples.operations[operation["operationId"]]
                    elif media_type == "application/json":
                        media["example"] = Synthesis(schemas, examples).value(media["schema"])
    return examples


def _schema_name(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref")
    return ref.removeprefix(_SCHEMA_PREFIX) if isinstance(ref, str) else None


@dataclass
class Synthesis:
    schemas: dict[str, Any]
    examples: Examples

    def value(self, schema: dict[str, Any], owner: str = "", name: str = "") -> Any:
        if (ref := _schema_name(schema)) is not None:
            return self.value(self.schemas[ref], ref, name)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return schema["enum"][0]
        if branches := schema.get("oneOf") or schema.get("anyOf"):
            if any(branch.get("type") == "null" for branch in branches):
                return None
            return self.value(branches[0], owner, name)
        kind = schema.get("type")
        if kind == "object" and "properties" in schema:
            return self.object(owner, schema)
        if kind == "object":
            return {}
        if kind == "array":
            return [self.value(schema.get("items", {}), owner, name)]
        if kind == "boolean":
            return False
        if kind == "integer":
            return 0
        if schema.get("format") == "uuid":
            return example_cast.example_id(f"{owner}.{name}")
        if schema.get("format") == "date-time":
            return example_cast.AT
        if schema.get("format") == "date":
            return example_cast.TODAY
        if schema.get("examples"):
            return schema["examples"][0]
        self.examples.unexplained.add(f"{owner}.{name}")
        return name

    def object(self, owner: str, schema: dict[str, Any]) -> dict[str, Any]:
        spelled = self.examples.responses.get(owner, {})
        result: dict[str, Any] = {}
        for name, prop in schema["properties"].items():
            if name in spelled:
                result[name] = spelled[name]
            elif name == "id" and owner:
                result[name] = example_cast.example_id(owner)
            elif name in example_cast.FIELDS and self.fits(example_cast.FIELDS[name], prop):
                result[name] = example_cast.FIELDS[name]
            else:
                result[name] = self.value(prop, owner, name)
        return result

    def fits(self, value: Any, schema: dict[str, Any]) -> bool:
        """Whether a by-name value has the field's type (`total` is rupiah in one
        schema, an object in another)."""
        if (ref := _schema_name(schema)) is not None:
            return self.fits(value, self.schemas[ref])
        if branches := schema.get("oneOf") or schema.get("anyOf"):
            return any(self.fits(value, branch) for branch in branches)
        if "enum" in schema:
            return value in schema["enum"]
        kind = schema.get("type")
        types = {"string": str, "integer": int, "boolean": bool, "object": dict, "array": list}
        if kind == "null":
            return value is None
        if kind == "integer" and isinstance(value, bool):
            return False
        return kind not in types or isinstance(value, types[kind])
