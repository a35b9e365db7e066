"""ETag and If-Match on the objects people edit: products, listings, organizations and
consignment agreements. A write with a stale tag is 412 and changes nothing; with the
current one (or `*`) it is made and answers the new tag; without `If-Match` it is made as it
always was. Another organization's object stays 404 whatever tag is sent. Two writes with the
same tag, truly at once on their own connections: exactly one is made."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.accounts import Principal
from marketplace.accounts.schemas import OrganizationUpdate
from marketplace.accounts.service import AccountsService
from marketplace.cli import export_openapi
from marketplace.consignment.schemas import AgreementUpdate
from marketplace.consignment.service import ConsignmentService
from marketplace.consignment.settlement_service import SettlementService
from marketplace.db import UnitOfWork, unit_of_work
from marketplace.entity_tags import IfMatch, PreconditionFailed
from marketplace.listings import ListingUpdate, ProductService
from marketplace.listings.schemas import ProductUpdate
from marketplace.listings.service import ListingService
from tests.builders.catalog import create_listing, create_product
from tests.builders.consignment import create_agreement
from tests.support import Actor, Actors, assert_problem


@dataclass(frozen=True)
class Edited:
    """One editable object: where it is, who changes it, one field a PATCH sets, and an
    organization that must not see it (None: the catalogue is everyone's)."""

    url: str
    editor: Actor
    field: str
    values: tuple[Any, Any, Any]
    outsider: Actor | None
    edit: Callable[[UnitOfWork, Principal, Any, IfMatch], Awaitable[object]]

    def body(self, n: int) -> dict[str, Any]:
        return {self.field: self.values[n]}

    @property
    def object_id(self) -> uuid.UUID:
        return uuid.UUID(self.url.rsplit("/", 1)[1])


def principal_of(actor: Actor) -> Principal:
    return Principal(
        api_key_id=uuid.uuid4(),
        organization_id=actor.organization_id,
        organization_kind=actor.kind,
        role=actor.role,
    )


KINDS = ["product", "listing", "organization", "agreement"]


async def edited(kind: str, client: AsyncTestClient[Litestar], actors: Actors) -> Edited:
    admin = await actors.platform_admin()
    region = "35.76.02.1005"
    if kind == "product":
        product = await create_product(client, admin)
        return Edited(
            f"/v1/products/{product['id']}",
            admin,
            "name",
            ("Beras Satu", "Beras Dua", "Beras Tiga"),
            None,
            lambda uow, who, object_id, precondition: ProductService(uow).update(
                who, object_id, ProductUpdate(name=f"Beras {object_id.hex[:4]}"), precondition
            ),
        )
    if kind == "listing":
        product = await create_product(client, admin)
        seller = await actors.org("cooperative", "seller", region_code=region)
        listing = await create_listing(client, seller, product["id"], tiers=[(1, 60_000)])
        return Edited(
            f"/v1/listings/{listing['id']}",
            seller,
            "min_order_quantity",
            (2, 3, 4),
            await actors.org("cooperative", "seller", region_code=region),
            lambda uow, who, object_id, precondition: ListingService(uow).update(
                who, object_id, ListingUpdate(min_order_quantity=7), precondition
            ),
        )
    if kind == "organization":
        org = await actors.org("cooperative", "admin", region_code=region)
        return Edited(
            f"/v1/organizations/{org.organization_id}",
            org,
            "city",
            ("Kota Blitar", "Kota Malang", "Kota Kediri"),
            await actors.org("cooperative", "admin", region_code=region),
            lambda uow, who, object_id, precondition: AccountsService(uow).update_organization(
                who, object_id, OrganizationUpdate(city="Kota Batu"), precondition
            ),
        )
    coop = await actors.org("cooperative", "admin", region_code=region)
    umkm = await actors.org("umkm", "seller", region_code=region)
    agreement = await create_agreement(client, coop, umkm)
    return Edited(
        f"/v1/consignment/agreements/{agreement['id']}",
        coop,
        "commission_bps",
        (1100, 1200, 1300),
        await actors.org("cooperative", "admin", region_code=region),
        lambda uow, who, object_id, precondition: ConsignmentService(uow).update_agreement(
            who, object_id, AgreementUpdate(commission_bps=1500), precondition
        ),
    )


@pytest.mark.parametrize("kind", KINDS)
async def test_a_stale_tag_is_412_and_changes_nothing_the_current_one_writes(
    kind: str, client: AsyncTestClient[Litestar], actors: Actors
) -> None:
    obj = await edited(kind, client, actors)
    headers = obj.editor.headers
    read = await client.get(obj.url, headers=headers)
    assert read.status_code == 200
    first = read.headers["etag"]
    assert first.startswith('"')  # strong: no `W/`

    changed = await client.patch(obj.url, json=obj.body(0), headers=headers | {"If-Match": first})
    assert changed.status_code == 200, changed.text
    second = changed.headers["etag"]
    assert second != first
    assert changed.json()[obj.field] == obj.values[0]
    assert (await client.get(obj.url, headers=headers)).headers["etag"] == second

    stale = await client.patch(obj.url, json=obj.body(1), headers=headers | {"If-Match": first})
    problem = assert_problem(stale, 412, "precondition_failed")
    assert problem["extra"] == {"current_etag": second}
    after = await client.get(obj.url, headers=headers)
    assert after.json()[obj.field] == obj.values[0]
    assert after.headers["etag"] == second

    # A weak tag never matches for a write (strong comparison); a list holding the
    # current tag does, and so does `*`.
    weak = await client.patch(
        obj.url, json=obj.body(1), headers=headers | {"If-Match": f"W/{second}"}
    )
    assert_problem(weak, 412, "precondition_failed")
    listed = await client.patch(
        obj.url, json=obj.body(1), headers=headers | {"If-Match": f'"0", {second}'}
    )
    assert listed.status_code == 200, listed.text
    third = listed.headers["etag"]
    star = await client.patch(obj.url, json=obj.body(2), headers=headers | {"If-Match": "*"})
    assert star.status_code == 200, star.text
    assert star.headers["etag"] not in {first, second, third}

    # Without If-Match a partner writes as it always did.
    plain = await client.patch(obj.url, json=obj.body(0), headers=headers)
    assert plain.status_code == 200, plain.text
    assert plain.json()[obj.field] == obj.values[0]

    malformed = await client.patch(obj.url, json=obj.body(1), headers=headers | {"If-Match": "3"})
    assert_problem(malformed, 400, "bad_request")
    assert (await client.get(obj.url, headers=headers)).json()[obj.field] == obj.values[0]


@pytest.mark.parametrize("kind", ["listing", "organization", "agreement"])
async def test_another_organizations_object_is_404_whatever_tag_it_sends(
    kind: str, client: AsyncTestClient[Litestar], actors: Actors
) -> None:
    obj = await edited(kind, client, actors)
    assert obj.outsider is not None
    tag = (await client.get(obj.url, headers=obj.editor.headers)).headers["etag"]
    for sent in (tag, "*", '"999"'):
        answer = await client.patch(
            obj.url, json=obj.body(1), headers=obj.outsider.headers | {"If-Match": sent}
        )
        assert_problem(answer, 404, "not_found")
    unchanged = await client.get(obj.url, headers=obj.editor.headers)
    assert unchanged.headers["etag"] == tag
    assert unchanged.json()[obj.field] != obj.values[1]


async def test_a_product_is_the_platforms_to_change_whatever_tag_is_sent(
    client: AsyncTestClient[Litestar], actors: Actors
) -> None:
    obj = await edited("product", client, actors)
    seller = await actors.org("cooperative", "seller")
    tag = (await client.get(obj.url, headers=seller.headers)).headers["etag"]
    answer = await client.patch(
        obj.url, json=obj.body(1), headers=seller.headers | {"If-Match": tag}
    )
    assert_problem(answer, 403, "auth.forbidden")


@pytest.mark.parametrize("kind", ["product", "organization", "agreement"])
async def test_if_none_match_answers_304_while_the_object_is_unchanged(
    kind: str, client: AsyncTestClient[Litestar], actors: Actors
) -> None:
    obj = await edited(kind, client, actors)
    headers = obj.editor.headers
    tag = (await client.get(obj.url, headers=headers)).headers["etag"]
    for held in (tag, f"W/{tag}", f'"0", {tag}', "*"):
        same = await client.get(obj.url, headers=headers | {"If-None-Match": held})
        assert same.status_code == 304, (held, same.status_code)
        assert same.content == b""
        assert same.headers["etag"] == tag
    await client.patch(obj.url, json=obj.body(0), headers=headers)
    fresh = await client.get(obj.url, headers=headers | {"If-None-Match": tag})
    assert fresh.status_code == 200
    assert fresh.headers["etag"] != tag
    assert fresh.json()[obj.field] == obj.values[0]


async def test_a_listings_tag_is_its_terms_not_its_stock(
    client: AsyncTestClient[Litestar], actors: Actors
) -> None:
    """Orders move the stock all day; a seller's price change with the tag it read still
    goes through, and the GET is never 304 (its stock figures may have moved)."""
    obj = await edited("listing", client, actors)
    headers = obj.editor.headers
    read = await client.get(obj.url, headers=headers)
    tag = read.headers["etag"]
    received = await client.post(
        f"{obj.url}/stock-movements", json={"kind": "receive", "quantity": 5}, headers=headers
    )
    assert received.status_code == 201, received.text
    again = await client.get(obj.url, headers=headers | {"If-None-Match": tag})
    assert again.status_code == 200
    assert again.json()["on_hand"] == read.json()["on_hand"] + 5
    assert again.headers["etag"] == tag
    priced = await client.patch(
        obj.url,
        json={"price_tiers": [{"min_quantity": 1, "unit_price": 59_000}]},
        headers=headers | {"If-Match": tag},
    )
    assert priced.status_code == 200, priced.text
    paused = await client.patch(
        obj.url, json={"status": "paused"}, headers=headers | {"If-Match": tag}
    )
    assert_problem(paused, 412, "precondition_failed")
    assert (await client.get(obj.url, headers=headers)).json()["status"] == "active"


async def test_ending_an_agreement_takes_if_match_too(
    client: AsyncTestClient[Litestar], actors: Actors
) -> None:
    obj = await edited("agreement", client, actors)
    headers = obj.editor.headers
    tag = (await client.get(obj.url, headers=headers)).headers["etag"]
    await client.patch(obj.url, json=obj.body(0), headers=headers)
    stale = await client.post(f"{obj.url}/end", headers=headers | {"If-Match": tag})
    assert_problem(stale, 412, "precondition_failed")
    assert (await client.get(obj.url, headers=headers)).json()["status"] == "active"
    current = (await client.get(obj.url, headers=headers)).headers["etag"]
    ended = await client.post(f"{obj.url}/end", headers=headers | {"If-Match": current})
    assert ended.status_code == 200, ended.text
    assert ended.json()["status"] == "ended"
    assert ended.headers["etag"] != current


CLIENTS = 8


@pytest.mark.parametrize("kind", KINDS)
async def test_writes_at_once_with_the_same_tag_exactly_one_is_made(
    kind: str,
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    obj = await edited(kind, client, actors)
    tag = (await client.get(obj.url, headers=obj.editor.headers)).headers["etag"]
    who = principal_of(obj.editor)

    async def write() -> str:
        async with unit_of_work(session_factory) as uow:
            try:
                await obj.edit(uow, who, obj.object_id, IfMatch(tag))
            except PreconditionFailed:
                return "refused"
            await uow.commit()
            return "made"

    outcomes = await asyncio.gather(*(write() for _ in range(CLIENTS)))
    assert sorted(outcomes) == ["made"] + ["refused"] * (CLIENTS - 1)
    after = await client.get(obj.url, headers=obj.editor.headers)
    assert int(after.headers["etag"].strip('"')) == int(tag.strip('"')) + 1


EDIT_OPERATIONS = {
    ("/v1/products/{product_id}", "patch"),
    ("/v1/listings/{listing_id}", "patch"),
    ("/v1/organizations/{organization_id}", "patch"),
    ("/v1/consignment/agreements/{agreement_id}", "patch"),
    ("/v1/consignment/agreements/{agreement_id}/end", "post"),
}
READ_OPERATIONS = {
    "/v1/products/{product_id}": True,  # whether If-None-Match may answer 304
    "/v1/listings/{listing_id}": False,
    "/v1/organizations/{organization_id}": True,
    "/v1/consignment/agreements/{agreement_id}": True,
}


def test_the_contract_describes_etag_if_match_and_412() -> None:
    paths = json.loads(export_openapi())["paths"]
    for path, method in EDIT_OPERATIONS:
        operation = paths[path][method]
        headers = {p["name"]: p for p in operation["parameters"] if p["in"] == "header"}
        assert headers["If-Match"]["required"] is False, path
        assert "412" in operation["responses"], path
        assert "ETag" in operation["responses"]["200"]["headers"], path
    for path, conditional in READ_OPERATIONS.items():
        operation = paths[path]["get"]
        assert operation["responses"]["200"]["headers"]["ETag"]["schema"] == {"type": "string"}
        headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
        assert ("If-None-Match" in headers) is conditional, path
        assert ("304" in operation["responses"]) is conditional, path


async def test_a_settlement_changes_the_agreements_tag_as_it_changes_its_answer(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """`last_settled_at` is in the agreement's answer, so the settlement's write bumps the
    version too: a 304 never hides it, and an edit read before it is told."""
    coop = await actors.org("cooperative", "admin")
    umkm = await actors.org("umkm", "seller")
    agreement = await create_agreement(client, coop, umkm)
    url = f"/v1/consignment/agreements/{agreement['id']}"
    before = await client.get(url, headers=coop.headers)
    assert before.json()["last_settled_at"] is None
    async with unit_of_work(session_factory) as uow:
        await SettlementService(uow).settle_due_for(
            coop.organization_id, [umkm.organization_id], dt.datetime.now(dt.UTC)
        )
        await uow.commit()
    after = await client.get(url, headers=coop.headers | {"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200
    assert after.json()["last_settled_at"] is not None
    assert after.headers["etag"] != before.headers["etag"]
    read_before = coop.headers | {"If-Match": before.headers["etag"]}
    stale = await client.patch(url, json={"commission_bps": 900}, headers=read_before)
    assert_problem(stale, 412, "precondition_failed")


async def test_the_412_and_a_malformed_tag_speak_indonesian_when_asked(
    client: AsyncTestClient[Litestar], actors: Actors
) -> None:
    obj = await edited("organization", client, actors)
    headers = obj.editor.headers | {"Accept-Language": "id"}
    stale = await client.patch(obj.url, json=obj.body(0), headers=headers | {"If-Match": '"0"'})
    problem = assert_problem(stale, 412, "precondition_failed")
    assert problem["title"] == "Objek sudah berubah sejak Anda membacanya"
    assert problem["detail"].endswith("; baca ulang, lalu putuskan.")
    bare = await client.patch(obj.url, json=obj.body(0), headers=headers | {"If-Match": "1"})
    assert "tanda kutip ganda" in assert_problem(bare, 400, "bad_request")["detail"]
