"""Rules import-linter can't express: where transactions end, and file roles."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "marketplace"
# Repositories and services run inside the caller's transaction; only entry points
# (controllers, tasks, the CLI's seeders) decide when it ends.
NEVER_COMMIT = ("repository.py", "service.py", "domain.py", "models.py", "schemas.py")


def commit_calls(path: Path) -> list[int]:
    tree = ast.parse(path.read_text())
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "commit"
    ]


def test_repositories_and_services_never_commit() -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): lines
        for path in PACKAGE.rglob("*.py")
        if path.name in NEVER_COMMIT and (lines := commit_calls(path))
    }
    assert offenders == {}


def test_queries_live_in_repositories() -> None:
    """`select(`/`update(`/`delete(` of SQLAlchemy appear only where queries belong."""
    allowed_roles = {"repository.py", "models.py"}
    cross_cutting = {"outbox.py", "idempotency.py", "system.py", "demo.py", "migrations_runner.py"}
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.name in allowed_roles or path.name in cross_cutting or "migrations" in path.parts:
            continue
        source = path.read_text()
        if "from sqlalchemy import" in source and any(
            f"{verb}(" in source for verb in ("select", "update", "insert")
        ):
            offenders.append(str(path.relative_to(PACKAGE)))
    assert offenders == []


def test_every_domain_package_has_a_docstring() -> None:
    for init in PACKAGE.glob("*/__init__.py"):
        if init.parent.name == "migrations":
            continue
        tree = ast.parse(init.read_text())
        assert ast.get_docstring(tree), f"{init.parent.name} has no context docstring"
