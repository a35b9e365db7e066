"""Rules import-linter can't express: where transactions end, and file roles."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "marketplace"
# Only entry points decide when a transaction ends: controllers and tasks (one per
# context), the worker and the CLI with its seeders, and the few infrastructure modules
# that own a transaction of their own. Everything else — repositories, services and
# every use-case module, whatever its name — runs inside the caller's unit of work.
COMMIT_ROLES = ("controller.py", "tasks.py")
COMMITTING_INFRASTRUCTURE = (
    "db.py",  # UnitOfWork.commit itself
    "accounts/authentication.py",  # the key's last-use touch, a short transaction of its own
    "accounts/session_store.py",  # each read or write of a page session is its own
    "idempotency.py",  # run_idempotent commits the use case with its stored answer
    "web/once.py",  # a page form's run_once: run_idempotent's commit, or the same without a key
    "outbox.py",  # handling one event is a transaction of its own
    "worker.py",
    "cli.py",
    "demo.py",
    "demo_desk.py",  # the demo consignment's seeder
)


def commit_calls(path: Path) -> list[int]:
    tree = ast.parse(path.read_text())
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "commit"
    ]


def may_commit(path: Path) -> bool:
    relative = path.relative_to(PACKAGE)
    if path.name in COMMIT_ROLES:
        return True
    return relative.as_posix() in COMMITTING_INFRASTRUCTURE


def test_only_entry_points_commit() -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): lines
        for path in PACKAGE.rglob("*.py")
        if "migrations" not in path.parts and not may_commit(path) and (lines := commit_calls(path))
    }
    assert offenders == {}


def test_the_commit_rule_sees_use_case_modules() -> None:
    """The rule is checked by role, so a use-case module of any name is held to it."""
    for use_case in ("orders/placement.py", "consignment/settlement_service.py"):
        assert not may_commit(PACKAGE / use_case)
    assert may_commit(PACKAGE / "orders" / "controller.py")


def test_queries_live_in_repositories() -> None:
    """`select(`/`update(`/`delete(` of SQLAlchemy appear only where queries belong."""
    allowed_roles = {"repository.py", "models.py"}  # and `<use case>_repository.py`
    cross_cutting = {"outbox.py", "idempotency.py", "system.py", "demo.py", "migrations_runner.py"}
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        repository = path.name.endswith("_repository.py")
        if path.name in allowed_roles or repository or path.name in cross_cutting:
            continue
        if "migrations" in path.parts:
            continue
        source = path.read_text()
        if "from sqlalchemy import" in source and any(
            f"{verb}(" in source for verb in ("select", "update", "insert")
        ):
            offenders.append(str(path.relative_to(PACKAGE)))
    assert offenders == []


def test_every_domain_package_has_a_docstring() -> None:
    # A context's rooms (`procurement/lots/`, `procurement/sourcing/`, ...) say the same.
    rooms = (i for i in PACKAGE.glob("*/*/__init__.py") if i.parent.name != "domain")
    for init in [*PACKAGE.glob("*/__init__.py"), *rooms]:
        if "migrations" in init.parts:
            continue
        tree = ast.parse(init.read_text())
        assert ast.get_docstring(tree), f"{init.parent.name} has no context docstring"


def test_every_use_case_repository_is_closed_to_controllers() -> None:
    """import-linter's wildcards match whole module names, so each `<use case>_repository`
    is named in the "controllers never query" contract; a new one must be added there."""
    contracts = tomllib.loads((PACKAGE.parent.parent / "pyproject.toml").read_text())
    [closed] = [
        c["forbidden_modules"]
        for c in contracts["tool"]["importlinter"]["contracts"]
        if c["name"].startswith("Controllers never query")
    ]
    repositories = {
        ".".join(("marketplace", *path.relative_to(PACKAGE).with_suffix("").parts))
        for path in PACKAGE.rglob("*_repository.py")
    }
    assert repositories, "the consignment settlement's repository is one"
    assert repositories <= set(closed)


MAX_MODULE_LINES = 500


def test_no_module_outgrows_its_use_case() -> None:
    """A module past ~500 lines holds more than one use case: split it by use case (a
    `<use case>_repository.py`, a room's package). Migrations are history, not design."""
    long = {
        str(path.relative_to(PACKAGE)): lines
        for path in PACKAGE.rglob("*.py")
        if "migrations" not in path.parts
        and (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}
