"""Every problem `code` names one error: a partner can branch on it without guessing."""

from __future__ import annotations

import importlib
import pkgutil
from collections import defaultdict

import marketplace
from marketplace.errors import DomainError


def all_error_classes() -> list[type[DomainError]]:
    for module in pkgutil.walk_packages(marketplace.__path__, "marketplace."):
        if ".migrations" not in module.name and module.name not in {"marketplace.__main__"}:
            importlib.import_module(module.name)
    found: list[type[DomainError]] = []
    pending = [DomainError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def test_every_error_code_belongs_to_one_error_class() -> None:
    by_code: defaultdict[str, list[str]] = defaultdict(list)
    for cls in all_error_classes():
        # A subclass that keeps its parent's code is the same error (it refines the text).
        if any(cls.code == base.code for base in cls.__bases__ if issubclass(base, DomainError)):
            continue
        by_code[cls.code].append(f"{cls.__module__}.{cls.__qualname__}")
    assert {code: owners for code, owners in by_code.items() if len(owners) > 1} == {}


def test_every_error_code_is_namespaced_and_has_a_title() -> None:
    generic = {
        "error",
        "validation_failed",
        "bad_request",
        "not_found",
        "conflict",
        "precondition_failed",
    }
    for cls in all_error_classes():
        assert cls.code in generic or "." in cls.code, cls
        assert cls.title, cls
        assert 400 <= cls.status < 600, cls
