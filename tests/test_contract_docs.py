"""The contract documents every operation for partner developers and SDK generators.

Each operation says what it does (a description) and shows an example of its request
body and main answer, each valid against its schema; schema names are plain (no module
path a generator would have to carry); every answer lists the headers it carries.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import pytest

from marketplace.cli import export_openapi
from marketplace.contract_examples import MAIN_ANSWERS, attach_examples, collected

DOCUMENT: dict[str, Any] = json.loads(export_openapi())
# Answers that are files: no example, their schema is a binary string.
BINARY = {"application/pdf"}


def operations() -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            yield f"{method.upper()} {path}", operation


OPERATIONS = dict(operations())


def examples_of(operation: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, media type object) of the request body and of the main answers."""
    for media_type, media in operation.get("requestBody", {}).get("content", {}).items():
        yield f"request {media_type}", media
    for status in MAIN_ANSWERS:
        for media_type, media in operation["responses"].get(status, {}).get("content", {}).items():
            if media_type not in BINARY:
                yield f"{status} {media_type}", media


@pytest.mark.parametrize("name", OPERATIONS)
def test_every_operation_is_described(name: str) -> None:
    description = OPERATIONS[name].get("description", "")
    # A sentence or more, not a restated summary.
    assert len(description) >= 40, f"{name} needs a `description=` for partner developers"


@pytest.mark.parametrize("name", OPERATIONS)
def test_every_operation_has_valid_examples(name: str) -> None:
    operation = OPERATIONS[name]
    shown = list(examples_of(operation))
    main = [s for s in MAIN_ANSWERS if s in operation["responses"]]
    assert (
        shown
        or main == []
        or all(set(operation["responses"][s].get("content", {})) <= BINARY for s in main)
    )
    for where, media in shown:
        assert "example" in media, (
            f"{name} {where}: no example; add one to its context's examples.py "
            "(`marketplace.contract_examples`)"
        )
        schema = {**media["schema"], "components": DOCUMENT["components"]}
        validator = jsonschema_rs.Draft202012Validator(schema, validate_formats=True)
        example = media["example"]
        errors = [f"{e.instance_path}: {e.message}" for e in validator.iter_errors(example)]
        assert errors == [], f"{name} {where}: the example breaks its schema: {errors}"


def test_every_example_field_has_a_realistic_value() -> None:
    examples = attach_examples(json.loads(json.dumps(DOCUMENT)), collected())
    assert examples.unexplained == set(), (
        "string fields with no example value: give them one in the context's examples.py "
        "(`RESPONSES`) or in `example_cast.FIELDS`"
    )


def test_every_request_example_is_used() -> None:
    used = {
        media["schema"]["$ref"].rsplit("/", 1)[-1]
        for operation in OPERATIONS.values()
        for media in operation.get("requestBody", {}).get("content", {}).values()
        if "$ref" in media["schema"]
    }
    assert set(collected().requests) - used == set()


def test_schema_names_carry_no_module_path() -> None:
    # Litestar names a component after its module when two Structs share a name
    # (`payments_schemas_PaymentOut`): generated SDKs would drop one of them.
    names = list(DOCUMENT["components"]["schemas"])
    assert [n for n in names if not re.fullmatch(r"[A-Z][A-Za-z0-9]*", n)] == []


def headers_of(response: dict[str, Any]) -> dict[str, Any]:
    """The answer's headers, references to `components.headers` resolved."""
    shared = DOCUMENT["components"].get("headers", {})
    return {
        name: shared[header["$ref"].rsplit("/", 1)[-1]] if "$ref" in header else header
        for name, header in response.get("headers", {}).items()
    }


@pytest.mark.parametrize("name", OPERATIONS)
def test_every_answer_lists_its_headers(name: str) -> None:
    operation = OPERATIONS[name]
    idempotent = any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", ()))
    for status, response in operation["responses"].items():
        headers = headers_of(response)
        assert headers.get("X-Request-ID", {}).get("required") is True, (name, status)
        if name.split()[1].startswith("/v1/"):
            assert {"RateLimit", "RateLimit-Policy"} <= set(headers), (name, status)
        if status in {"429", "503"}:
            assert headers["Retry-After"]["required"] is True, (name, status)
        if status.startswith("2") and idempotent:
            assert "Idempotent-Replayed" in headers, (name, status)


def test_the_idempotency_key_is_a_required_string() -> None:
    keys = [
        p
        for operation in OPERATIONS.values()
        for p in operation.get("parameters", ())
        if p["name"] == "Idempotency-Key"
    ]
    assert keys
    for key in keys:
        assert key["required"] is True
        assert key["schema"]["type"] == "string"
        assert key["schema"]["minLength"] == 1
        assert "oneOf" not in key["schema"]


def test_created_answers_say_where_when_the_object_is_readable() -> None:
    located = {
        name
        for name, operation in OPERATIONS.items()
        if "Location" in headers_of(operation["responses"].get("201", {}))
    }
    assert "POST /v1/orders" in located
    assert "POST /v1/procurement/rfqs/{rfq_id}/award" not in located
