"""Every list query is scoped to the caller: a repository method that pages rows takes a
required `scope: Scope` (built by `Principal.scope`) and narrows itself with
`Scope.narrow`, so an unscoped list cannot be added without this test naming it.

Read by inspecting every repository class of every context; the cross-organization
behaviour itself is tests/test_cross_org_leaks.py's.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

import marketplace
from marketplace.accounts.domain import OrganizationKind, Principal, Role, Scope
from marketplace.errors import NotFound

# Pages that are not one organization's rows, each with the reason it needs no scope.
UNSCOPED_PAGES = {
    # The public catalogue: every caller sees every active product and listing.
    "listings.repository.ProductRepository.list_page": "public catalogue",
    "listings.search_repository.CatalogueRepository.search_rows": "public catalogue",
    "listings.repository.ListingRepository.catalog_feed": "public catalogue",
    # The children of one object the service has already required the caller to be a
    # party to (`require_party` / `ensure_visible` on the parent first).
    "accounts.repository.ApiKeyRepository.list_for_organization": "of a visible organization",
    "listings.repository.ListingRepository.movements_page": "of a managed listing",
    "orders.repository.BudgetRepository.periods_page": "of a visible kitchen",
    "payments.repository.PaymentRepository.of_order": "of a visible order",
    "webhooks.repository.DeliveryRepository.list_for_endpoint": "of a visible endpoint",
}


def repository_methods() -> Iterator[tuple[str, Any]]:
    for found in pkgutil.walk_packages(marketplace.__path__, "marketplace."):
        if not found.name.rsplit(".", 1)[1].endswith("repository"):  # and *_repository
            continue
        module = importlib.import_module(found.name)
        for class_name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__:
                continue
            for name, method in inspect.getmembers(cls, inspect.isfunction):
                if not name.startswith("_"):
                    where = found.name.removeprefix("marketplace.")
                    yield f"{where}.{class_name}.{name}", method


def is_page(name: str, method: Any) -> bool:
    """A list a caller sees: named as one, or taking a keyset cursor and a limit."""
    short = name.rsplit(".", 1)[1]
    parameters = inspect.signature(method).parameters
    named = short.startswith(("list", "page")) or short.endswith("_page")
    cursor = "limit" in parameters and bool({"after", "before"} & set(parameters))
    return named or cursor


def test_the_rule_finds_the_pages() -> None:
    pages = {name for name, method in repository_methods() if is_page(name, method)}
    assert "orders.repository.OrderRepository.orders_page" in pages
    assert "procurement.lots.repository.LotRepository.page" in pages
    assert "accounts.repository.OrganizationRepository.list_page" in pages
    assert "orders.repository.OrderRepository.get" not in pages
    assert set(UNSCOPED_PAGES) <= pages  # no stale exemption


def test_every_list_query_takes_a_required_scope() -> None:
    unscoped = []
    for name, method in repository_methods():
        if not is_page(name, method) or name in UNSCOPED_PAGES:
            continue
        scope = inspect.signature(method).parameters.get("scope")
        if (
            scope is None
            or scope.annotation not in ("Scope", Scope)
            or scope.default is not inspect.Parameter.empty
        ):
            unscoped.append(name)
    assert unscoped == []


class Recorded:
    """A statement stand-in recording the conditions it was narrowed by."""

    def __init__(self, conditions: tuple[Any, ...] = ()) -> None:
        self.conditions = conditions

    def where(self, *conditions: Any) -> Recorded:
        return Recorded(self.conditions + conditions)


def principal(kind: OrganizationKind, organization_id: uuid.UUID) -> Principal:
    return Principal(
        api_key_id=uuid.uuid4(),
        organization_id=organization_id,
        organization_kind=kind,
        role=Role.VIEWER,
    )


def test_a_scope_narrows_to_its_organization_and_everything_not_at_all() -> None:
    own, other = uuid.uuid4(), uuid.uuid4()
    kitchen = principal(OrganizationKind.KITCHEN, own)
    platform = principal(OrganizationKind.PLATFORM, other)
    assert kitchen.scope == Scope.of(own)
    assert platform.scope == Scope.everything()

    narrowed = kitchen.scope.narrow(Recorded(), lambda org: ("buyer", org))
    assert narrowed.conditions == (("buyer", own),)
    assert platform.scope.narrow(Recorded(), lambda org: ("buyer", org)).conditions == ()


def test_is_party_and_require_party() -> None:
    own, other = uuid.uuid4(), uuid.uuid4()
    kitchen = principal(OrganizationKind.KITCHEN, own)
    platform = principal(OrganizationKind.PLATFORM, uuid.uuid4())
    assert kitchen.is_party(other, own)
    assert not kitchen.is_party(other)
    assert not kitchen.is_party()
    assert platform.is_party(other)
    kitchen.require_party(None, own, what="order")
    with pytest.raises(NotFound, match=r"^No such order\.$"):
        kitchen.require_party(other, what="order")
