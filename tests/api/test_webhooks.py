"""Webhook endpoints over HTTP: create (secret once), read, change, delete, validation,
another organization's ids, and the delivery log / redelivery routes."""

from __future__ import annotations

import base64
import re
import uuid
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace import outbox
from marketplace.accounts.domain import OrganizationKind, Role
from marketplace.db import unit_of_work
from marketplace.webhooks import EventType
from marketplace.webhooks.tasks import register_fan_out
from tests.builders.events import example
from tests.support import Actor, Actors, assert_problem

# Loopback port 9 (discard): nothing listens, so a stray delivery fails fast, offline.
URL = "http://127.0.0.1:9/hooks/koperasi"


def body(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "url": URL,
        "event_types": ["order.placed", "payment.succeeded"],
        "description": "ERP integration",
    }
    data.update(overrides)
    return data


async def create(client: AsyncTestClient[Litestar], actor: Actor, **overrides: Any) -> Any:
    response = await client.post(
        "/v1/webhook-endpoints", json=body(**overrides), headers=actor.headers
    )
    assert response.status_code == 201, response.text
    return response.json()


async def list_ids(client: AsyncTestClient[Litestar], actor: Actor) -> list[str]:
    ids: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 200}
        if cursor:
            params["cursor"] = cursor
        response = await client.get("/v1/webhook-endpoints", params=params, headers=actor.headers)
        assert response.status_code == 200, response.text
        ids += [e["id"] for e in response.json()["items"]]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return ids


async def make_delivery(
    session_factory: async_sessionmaker[AsyncSession], organization_id: uuid.UUID
) -> None:
    """Emit an order.placed event and fan it out (no queue: nothing is sent)."""
    handlers = outbox.EventHandlers()
    register_fan_out(handlers)
    async with unit_of_work(session_factory) as uow:
        event_id = outbox.emit(uow, example("order.placed"), organization_id=organization_id)
        await uow.commit()
    async with unit_of_work(session_factory) as uow:
        assert await outbox.handle_event(uow, event_id, handlers)


@pytest.fixture
async def coop(actors: Actors) -> Actor:
    return await actors.org(OrganizationKind.COOPERATIVE, Role.ADMIN)


async def test_create_shows_the_secret_once_then_read_change_delete(
    client: AsyncTestClient[Litestar], coop: Actor
) -> None:
    created = await create(client, coop)
    secret = created["secret"]
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]+=*", secret)
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) >= 24
    assert created["organization_id"] == str(coop.organization_id)
    assert created["event_types"] == ["order.placed", "payment.succeeded"]
    assert created["enabled"] is True
    assert created["disabled_reason"] is None

    fetched = await client.get(f"/v1/webhook-endpoints/{created['id']}", headers=coop.headers)
    assert fetched.status_code == 200
    assert "secret" not in fetched.json()
    assert fetched.json() == {k: v for k, v in created.items() if k != "secret"}
    assert created["id"] in await list_ids(client, coop)
    listed = await client.get("/v1/webhook-endpoints", headers=coop.headers)
    assert all("secret" not in e for e in listed.json()["items"])

    patched = await client.patch(
        f"/v1/webhook-endpoints/{created['id']}",
        json={"event_types": ["order.cancelled", "order.cancelled"], "description": "v2"},
        headers=coop.headers,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["event_types"] == ["order.cancelled"]
    assert patched.json()["description"] == "v2"
    assert patched.json()["url"] == URL

    disabled = await client.patch(
        f"/v1/webhook-endpoints/{created['id']}", json={"enabled": False}, headers=coop.headers
    )
    assert disabled.json()["enabled"] is False
    assert disabled.json()["disabled_reason"] == "manual"

    deleted = await client.delete(f"/v1/webhook-endpoints/{created['id']}", headers=coop.headers)
    assert deleted.status_code == 204
    gone = await client.get(f"/v1/webhook-endpoints/{created['id']}", headers=coop.headers)
    assert_problem(gone, 404, "not_found")
    assert created["id"] not in await list_ids(client, coop)


async def test_every_event_type_can_be_subscribed(
    client: AsyncTestClient[Litestar], coop: Actor
) -> None:
    created = await create(client, coop, event_types=[e.value for e in EventType])
    assert created["event_types"] == sorted(e.value for e in EventType)
    assert len(created["event_types"]) == 19  # the README table of partner events


@pytest.mark.parametrize(
    ("overrides", "status", "code"),
    [
        ({"event_types": ["order.exploded"]}, 400, "validation_failed"),
        ({"event_types": []}, 400, "validation_failed"),
        ({"event_types": "order.placed"}, 400, "validation_failed"),
        ({"url": "ftp://partner.example/hooks"}, 422, "webhooks.invalid_url"),
        ({"url": "not a url"}, 422, "webhooks.invalid_url"),
        ({"url": "https://"}, 422, "webhooks.invalid_url"),
        ({"url": "https://user:pw@partner.example/hooks"}, 422, "webhooks.invalid_url"),
        ({"url": "https://partner.example:99999/hooks"}, 422, "webhooks.invalid_url"),
        ({"url": "https://partner.example/" + "x" * 2100}, 400, "validation_failed"),
        ({"url": ""}, 400, "validation_failed"),
        ({"secret": "whsec_mine"}, 400, "validation_failed"),
        ({"enabled": False}, 400, "validation_failed"),
    ],
)
async def test_bad_input_is_a_problem_and_stores_nothing(
    client: AsyncTestClient[Litestar],
    coop: Actor,
    overrides: dict[str, Any],
    status: int,
    code: str,
) -> None:
    before = await list_ids(client, coop)
    response = await client.post(
        "/v1/webhook-endpoints", json=body(**overrides), headers=coop.headers
    )
    assert_problem(response, status, code)
    assert await list_ids(client, coop) == before


async def test_missing_fields_and_bad_patch_are_problems(
    client: AsyncTestClient[Litestar], coop: Actor
) -> None:
    response = await client.post(
        "/v1/webhook-endpoints", json={"event_types": ["order.placed"]}, headers=coop.headers
    )
    assert_problem(response, 400, "validation_failed")
    created = await create(client, coop)
    for patch, status, code in [
        ({"event_types": ["nope"]}, 400, "validation_failed"),
        ({"url": "gopher://x"}, 422, "webhooks.invalid_url"),
        ({"organization_id": str(uuid.uuid4())}, 400, "validation_failed"),
    ]:
        response = await client.patch(
            f"/v1/webhook-endpoints/{created['id']}", json=patch, headers=coop.headers
        )
        assert_problem(response, status, code)
    fetched = await client.get(f"/v1/webhook-endpoints/{created['id']}", headers=coop.headers)
    assert fetched.json() == {k: v for k, v in created.items() if k != "secret"}


async def test_roles_and_authentication(
    client: AsyncTestClient[Litestar], actors: Actors, coop: Actor
) -> None:
    created = await create(client, coop)
    buyer = await actors.key_for(coop, Role.BUYER)
    viewer = await actors.key_for(coop, Role.VIEWER)
    assert_problem(
        await client.post("/v1/webhook-endpoints", json=body(), headers=buyer.headers),
        403,
        "auth.forbidden",
    )
    assert_problem(
        await client.get(f"/v1/webhook-endpoints/{created['id']}", headers=buyer.headers), 403
    )
    assert (
        await client.get(f"/v1/webhook-endpoints/{created['id']}", headers=viewer.headers)
    ).status_code == 200
    assert_problem(
        await client.delete(f"/v1/webhook-endpoints/{created['id']}", headers=viewer.headers), 403
    )
    assert_problem(await client.get("/v1/webhook-endpoints"), 401, "auth.unauthenticated")
    # Only the platform may subscribe to every organization's events.
    assert_problem(
        await client.post(
            "/v1/webhook-endpoints", json=body(all_organizations=True), headers=coop.headers
        ),
        403,
    )


async def test_another_organizations_ids_are_not_found_on_every_route(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    coop: Actor,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    created = await create(client, coop)
    await make_delivery(session_factory, coop.organization_id)
    log = await client.get(
        f"/v1/webhook-endpoints/{created['id']}/deliveries", headers=coop.headers
    )
    [delivery] = log.json()["items"]
    assert delivery["state"] == "pending"
    assert delivery["event_type"] == "order.placed"

    stranger = await actors.org(OrganizationKind.UMKM, Role.ADMIN)
    endpoint = f"/v1/webhook-endpoints/{created['id']}"
    for method, path, payload in [
        ("GET", endpoint, None),
        ("PATCH", endpoint, {"description": "mine now"}),
        ("DELETE", endpoint, None),
        ("GET", f"{endpoint}/deliveries", None),
        ("POST", f"/v1/webhook-deliveries/{delivery['id']}/redeliver", None),
        ("GET", f"/v1/webhook-endpoints/{uuid.uuid4()}", None),
        ("POST", f"/v1/webhook-deliveries/{uuid.uuid4()}/redeliver", None),
    ]:
        response = await client.request(method, path, json=payload, headers=stranger.headers)
        assert_problem(response, 404, "not_found")
    assert created["id"] not in await list_ids(client, stranger)

    # Unchanged, and the platform sees it.
    fetched = await client.get(endpoint, headers=coop.headers)
    assert fetched.json()["description"] == "ERP integration"
    platform = await actors.platform_admin()
    assert (await client.get(endpoint, headers=platform.headers)).status_code == 200
    assert created["id"] in await list_ids(client, platform)


async def test_lists_are_keyset_paginated(
    client: AsyncTestClient[Litestar],
    coop: Actor,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    made = [(await create(client, coop))["id"] for _ in range(3)]
    first = await client.get("/v1/webhook-endpoints", params={"limit": 2}, headers=coop.headers)
    page1 = first.json()
    assert [e["id"] for e in page1["items"]] == made[:2]
    second = await client.get(
        "/v1/webhook-endpoints",
        params={"limit": 2, "cursor": page1["next_cursor"]},
        headers=coop.headers,
    )
    assert [e["id"] for e in second.json()["items"]] == made[2:]
    assert second.json()["next_cursor"] is None

    for _ in range(3):
        await make_delivery(session_factory, coop.organization_id)
    path = f"/v1/webhook-endpoints/{made[0]}/deliveries"
    page = (await client.get(path, params={"limit": 2}, headers=coop.headers)).json()
    rest = (
        await client.get(
            path, params={"limit": 2, "cursor": page["next_cursor"]}, headers=coop.headers
        )
    ).json()
    ids = [d["id"] for d in page["items"] + rest["items"]]
    assert len(ids) == 3
    assert ids == sorted(ids, reverse=True)  # newest first
    assert rest["next_cursor"] is None
    pending = await client.get(path, params={"state": "pending"}, headers=coop.headers)
    assert len(pending.json()["items"]) == 3
    delivered = await client.get(path, params={"state": "delivered"}, headers=coop.headers)
    assert delivered.json()["items"] == []
    assert_problem(await client.get(path, params={"state": "lost"}, headers=coop.headers), 400)
    assert_problem(await client.get(path, params={"cursor": "%%%"}, headers=coop.headers), 400)
