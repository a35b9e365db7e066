"""API-key authentication and authorization at the HTTP edge."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.support import Actors, assert_problem


async def test_missing_key_is_401(client: AsyncTestClient[Litestar]) -> None:
    assert_problem(await client.get("/v1/me"), 401, "auth.unauthenticated")


async def test_malformed_headers_are_401(client: AsyncTestClient[Litestar]) -> None:
    for header in ["Basic abc", "Bearer", "Bearer    ", "mk_abc_def", "Bearer not-a-key"]:
        response = await client.get("/v1/me", headers={"Authorization": header})
        assert_problem(response, 401, "auth.unauthenticated")


async def test_unknown_key_with_right_shape_is_401(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/v1/me", headers={"Authorization": "Bearer mk_abcdefgh_nope"})
    assert_problem(response, 401, "auth.unauthenticated")


async def test_me_returns_the_callers_organization_and_role(
    client: AsyncTestClient[Litestar], actors: Actors
) -> None:
    kitchen = await actors.org("kitchen", "buyer")
    response = await client.get("/v1/me", headers=kitchen.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["organization"]["id"] == str(kitchen.organization_id)
    assert body["organization"]["kind"] == "kitchen"
    assert body["role"] == "buyer"


async def test_revoked_key_is_401_and_last_used_is_recorded(
    client: AsyncTestClient[Litestar], actors: Actors
) -> None:
    coop = await actors.org("cooperative", "admin")
    viewer = await actors.key_for(coop, "viewer")
    assert (await client.get("/v1/me", headers=viewer.headers)).status_code == 200

    keys = (
        await client.get(f"/v1/organizations/{coop.organization_id}/api-keys", headers=coop.headers)
    ).json()["items"]
    viewer_key = next(k for k in keys if viewer.key.startswith(k["prefix"] + "_"))
    assert viewer_key["last_used_at"] is not None
    assert all("key" not in k and "key_hash" not in k for k in keys)

    revoked = await client.delete(f"/v1/api-keys/{viewer_key['id']}", headers=coop.headers)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None
    assert_problem(await client.get("/v1/me", headers=viewer.headers), 401, "auth.unauthenticated")


async def test_wrong_role_is_403(client: AsyncTestClient[Litestar], actors: Actors) -> None:
    coop = await actors.org("cooperative", "admin")
    viewer = await actors.key_for(coop, "viewer")
    response = await client.post(
        f"/v1/organizations/{coop.organization_id}/api-keys",
        json={"role": "admin"},
        headers=viewer.headers,
    )
    assert_problem(response, 403, "auth.forbidden")
    # Only a platform admin onboards organizations.
    response = await client.post(
        "/v1/organizations",
        json={
            "kind": "umkm",
            "name": "X",
            "slug": "x-forbidden",
            "region_code": "35.76",
            "city": "Kota Mojokerto",
        },
        headers=coop.headers,
    )
    assert_problem(response, 403, "auth.forbidden")


async def test_another_organizations_objects_are_404(
    client: AsyncTestClient[Litestar], actors: Actors
) -> None:
    mine = await actors.org("cooperative", "admin")
    theirs = await actors.org("cooperative", "admin")
    their_key = (
        await client.get(
            f"/v1/organizations/{theirs.organization_id}/api-keys", headers=theirs.headers
        )
    ).json()["items"][0]
    attempts = [
        client.get(f"/v1/organizations/{theirs.organization_id}", headers=mine.headers),
        client.patch(
            f"/v1/organizations/{theirs.organization_id}",
            json={"name": "Hijacked"},
            headers=mine.headers,
        ),
        client.get(f"/v1/organizations/{theirs.organization_id}/api-keys", headers=mine.headers),
        client.post(
            f"/v1/organizations/{theirs.organization_id}/api-keys",
            json={"role": "admin"},
            headers=mine.headers,
        ),
        client.delete(f"/v1/api-keys/{their_key['id']}", headers=mine.headers),
    ]
    for attempt in attempts:
        assert_problem(await attempt, 404, "not_found")
    # Nothing changed on their side.
    still = await client.get(f"/v1/organizations/{theirs.organization_id}", headers=theirs.headers)
    assert not still.json()["name"].startswith("Hijacked")
    assert (await client.get("/v1/me", headers=theirs.headers)).status_code == 200


async def test_platform_admin_can_act_for_any_organization(
    client: AsyncTestClient[Litestar], actors: Actors
) -> None:
    admin = await actors.platform_admin()
    coop = await actors.org("cooperative", "admin")
    created = await client.post(
        f"/v1/organizations/{coop.organization_id}/api-keys",
        json={"role": "seller", "name": "till"},
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    me = await client.get("/v1/me", headers={"Authorization": f"Bearer {key}"})
    assert me.json()["organization"]["id"] == str(coop.organization_id)
    assert me.json()["role"] == "seller"
