"""The schema comes from migrations only, and the committed OpenAPI file is current."""

from __future__ import annotations

import json
from pathlib import Path

from marketplace.cli import export_openapi
from marketplace.migrations_runner import schema_drift
from tests.support import ServiceUrls

ROOT = Path(__file__).resolve().parent.parent


def test_models_match_migrations(service_urls: ServiceUrls) -> None:
    # The session fixture migrated this database to head; models must add nothing.
    assert schema_drift(service_urls.database_url) == []


def test_committed_openapi_matches_the_app() -> None:
    committed = (ROOT / "openapi" / "openapi.json").read_text()
    assert committed == export_openapi(), "run `make openapi` and commit openapi/openapi.json"


def test_openapi_documents_problems_and_operation_ids() -> None:
    schema = json.loads(export_openapi())
    assert schema["openapi"].startswith("3.1")
    operation_ids = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            operation_ids.append(operation["operationId"])
            if path.startswith("/v1"):
                problems = [
                    r for code, r in operation["responses"].items() if code.startswith(("4", "5"))
                ]
                assert problems, f"{method} {path} documents no error response"
                for response in problems:
                    assert "application/problem+json" in response["content"], (method, path)
    assert len(operation_ids) == len(set(operation_ids))
    assert all(op[0].islower() and "_" not in op for op in operation_ids), operation_ids
