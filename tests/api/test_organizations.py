"""Organization onboarding and changes: validation, no change on bad input, paging."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.support import Actor, Actors, assert_problem


def new_org(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "umkm",
        "name": "Tempe Bu Sri",
        "slug": f"tempe-{uuid.uuid4().hex[:8]}",
        "region_code": "35.76.01.1001",
        "city": "Kota Mojokerto",
        "npwp": "01.234.567.8-901.234",
        "nib": "9120012345678",
    }
    body.update(overrides)
    return body


@pytest.fixture
async def admin(actors: Actors) -> Actor:
    return await actors.platform_admin()


async def count_orgs(client: AsyncTestClient[Litestar], admin: Actor) -> int:
    total, cursor = 0, None
    while True:
        params: dict[str, Any] = {"limit": 200}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/v1/organizations", params=params, headers=admin.headers)).json()
        total += len(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return total


async def test_platform_admin_creates_reads_and_updates(
    client: AsyncTestClient[Litestar], admin: Actor
) -> None:
    created = await client.post("/v1/organizations", json=new_org(), headers=admin.headers)
    assert created.status_code == 201, created.text
    org = created.json()
    assert org["npwp"] == "0012345678901234"  # legacy 15-digit form, zero-prefixed
    assert org["nib"] == "9120012345678"
    assert org["time_zone"] == "Asia/Jakarta"

    fetched = await client.get(f"/v1/organizations/{org['id']}", headers=admin.headers)
    assert fetched.json() == org

    patched = await client.patch(
        f"/v1/organizations/{org['id']}",
        json={"name": "Tempe Bu Sri Jaya", "time_zone": "Asia/Makassar"},
        headers=admin.headers,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "Tempe Bu Sri Jaya"
    assert patched.json()["time_zone"] == "Asia/Makassar"
    assert patched.json()["npwp"] == org["npwp"]


@pytest.mark.parametrize(
    ("overrides", "status", "code"),
    [
        ({"npwp": "12345"}, 422, "accounts.invalid_identifier"),
        ({"nib": "12"}, 422, "accounts.invalid_identifier"),
        ({"nik": "abc"}, 422, "accounts.invalid_identifier"),
        ({"time_zone": "Mars/Olympus"}, 400, "validation_failed"),
        ({"kind": "bank"}, 400, "validation_failed"),
        ({"region_code": "35-76"}, 400, "validation_failed"),
        ({"slug": "Has Spaces"}, 400, "validation_failed"),
        ({"name": ""}, 400, "validation_failed"),
        ({"surprise": True}, 400, "validation_failed"),
        ({"vat_registered": "yes"}, 400, "validation_failed"),
    ],
)
async def test_bad_organization_input_is_refused_and_changes_nothing(
    client: AsyncTestClient[Litestar],
    admin: Actor,
    overrides: dict[str, Any],
    status: int,
    code: str,
) -> None:
    before = await count_orgs(client, admin)
    response = await client.post(
        "/v1/organizations", json=new_org(**overrides), headers=admin.headers
    )
    body = assert_problem(response, status, code)
    assert body["detail"]
    assert await count_orgs(client, admin) == before


async def test_non_json_and_empty_bodies_are_400(
    client: AsyncTestClient[Litestar], admin: Actor
) -> None:
    for content in [b"", b"{", b"[]", b"null", b"\xff\xfe"]:
        response = await client.post(
            "/v1/organizations",
            content=content,
            headers={**admin.headers, "content-type": "application/json"},
        )
        assert_problem(response, 400)


async def test_duplicate_slug_is_409(client: AsyncTestClient[Litestar], admin: Actor) -> None:
    body = new_org()
    assert (
        await client.post("/v1/organizations", json=body, headers=admin.headers)
    ).status_code == 201
    again = await client.post("/v1/organizations", json=body, headers=admin.headers)
    assert_problem(again, 409, "accounts.slug_taken")


async def test_bad_update_changes_nothing(client: AsyncTestClient[Litestar], admin: Actor) -> None:
    org = (await client.post("/v1/organizations", json=new_org(), headers=admin.headers)).json()
    for patch, status in [
        ({"npwp": "1"}, 422),
        ({"kind": "platform"}, 400),
        ({"slug": "other"}, 400),
        ({"name": "ok", "region_code": "x"}, 400),
    ]:
        response = await client.patch(
            f"/v1/organizations/{org['id']}", json=patch, headers=admin.headers
        )
        assert_problem(response, status)
    after = (await client.get(f"/v1/organizations/{org['id']}", headers=admin.headers)).json()
    assert after == org


async def test_unknown_ids_and_bad_ids(client: AsyncTestClient[Litestar], admin: Actor) -> None:
    assert_problem(
        await client.get(f"/v1/organizations/{uuid.uuid4()}", headers=admin.headers), 404
    )
    assert_problem(await client.get("/v1/organizations/not-a-uuid", headers=admin.headers), 404)
    assert_problem(await client.get("/v1/nowhere", headers=admin.headers), 404)
    assert_problem(await client.put("/v1/me", headers=admin.headers), 405)


async def test_others_see_only_themselves(
    client: AsyncTestClient[Litestar], actors: Actors
) -> None:
    kitchen = await actors.org("kitchen", "viewer")
    page = (await client.get("/v1/organizations", headers=kitchen.headers)).json()
    assert [o["id"] for o in page["items"]] == [str(kitchen.organization_id)]


async def test_pagination_has_no_duplicates_or_gaps(
    client: AsyncTestClient[Litestar], admin: Actor
) -> None:
    region = f"9{uuid.uuid4().int % 10}.{uuid.uuid4().int % 90 + 10}"
    created = set()
    for _ in range(7):
        r = await client.post(
            "/v1/organizations", json=new_org(region_code=region), headers=admin.headers
        )
        created.add(r.json()["id"])
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3, "region": region}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/v1/organizations", params=params, headers=admin.headers)).json()
        seen += [o["id"] for o in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 7
    assert set(seen) == created
    assert seen == sorted(seen)
    bad = await client.get("/v1/organizations", params={"cursor": "!!!"}, headers=admin.headers)
    assert_problem(bad, 400, "pagination.invalid_cursor")
    too_big = await client.get("/v1/organizations", params={"limit": 10_000}, headers=admin.headers)
    assert_problem(too_big, 400)


async def test_options_lists_every_method_of_the_path(
    client: AsyncTestClient[Litestar], admin: Actor
) -> None:
    response = await client.options("/v1/organizations", headers=admin.headers)
    assert response.status_code == 204
    assert response.headers["allow"] == "GET, OPTIONS, POST"
    one = await client.options(f"/v1/organizations/{admin.organization_id}", headers=admin.headers)
    assert one.headers["allow"] == "GET, OPTIONS, PATCH"


async def test_body_types_are_strict(client: AsyncTestClient[Litestar], admin: Actor) -> None:
    before = await count_orgs(client, admin)
    for wrong in [{"vat_registered": 0}, {"vat_registered": "true"}, {"name": 5}]:
        response = await client.post(
            "/v1/organizations", json=new_org(**wrong), headers=admin.headers
        )
        assert_problem(response, 400, "validation_failed")
    assert await count_orgs(client, admin) == before


async def test_missing_key_is_401_even_with_a_bad_body(client: AsyncTestClient[Litestar]) -> None:
    response = await client.post("/v1/organizations", json={"kind": 5})
    assert_problem(response, 401, "auth.unauthenticated")


async def test_nul_characters_are_refused_at_the_edge(
    client: AsyncTestClient[Litestar], admin: Actor
) -> None:
    """Found by schemathesis: PostgreSQL rejected them and the API answered 500."""
    before = await count_orgs(client, admin)
    body = await client.post(
        "/v1/organizations", json=new_org(name="Tempe\x00"), headers=admin.headers
    )
    assert_problem(body, 400, "validation_failed")
    query = await client.get("/v1/listings", params={"q": "beras\x00"}, headers=admin.headers)
    assert_problem(query, 400, "validation_failed")
    assert await count_orgs(client, admin) == before
