"""`POST /v1/organizations/{id}/invitations`: an admin's one-time sign-up link through the
API, the same invitation the pages make; refusals change nothing."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.accounts import Role
from marketplace.accounts.models import Invitation
from tests.support import Actors
from tests.web.people import member, unique_phone


async def invitations_of(factory: async_sessionmaker[AsyncSession], org: uuid.UUID) -> int:
    async with factory() as session:
        count = select(func.count()).select_from(Invitation)
        return int(await session.scalar(count.where(Invitation.organization_id == org)) or 0)


async def test_an_admin_invites_a_person_and_the_link_opens_the_sign_up_page(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    kitchen = await actors.org("kitchen", "admin", name="SPPG Undangan API")
    phone = unique_phone()
    answer = await client.post(
        f"/v1/organizations/{kitchen.organization_id}/invitations",
        json={"phone": phone, "role": "buyer"},
        headers=kitchen.headers,
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["phone"] == "+62" + phone.removeprefix("0")
    assert body["role"] == "buyer"
    link = urlsplit(body["signup_url"])
    assert link.path.startswith("/undangan/")
    text = parse_qs(urlsplit(body["whatsapp_url"]).query)["text"][0]
    assert text == f"Anda diundang ke SPPG Undangan API: {body['signup_url']}"
    client.cookies.clear()
    page = await client.get(link.path)
    assert page.status_code == 200
    assert "SPPG Undangan API" in page.text


async def test_refused_invitations_change_nothing(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    kitchen = await actors.org("kitchen", "admin", name="SPPG Undangan Tolak")
    buyer = await actors.key_for(kitchen, Role.BUYER)
    other = await actors.org("kitchen", "admin", name="SPPG Lain Undangan")
    known = await member(session_factory, kitchen.organization_id)
    path = f"/v1/organizations/{kitchen.organization_id}/invitations"
    before = await invitations_of(session_factory, kitchen.organization_id)
    for headers, body, status, code in [
        (kitchen.headers, {"phone": "12", "role": "buyer"}, 422, "accounts.invalid_phone"),
        (kitchen.headers, {"phone": known, "role": "buyer"}, 409, "accounts.already_member"),
        (kitchen.headers, {"phone": unique_phone(), "role": "boss"}, 400, None),
        (buyer.headers, {"phone": unique_phone(), "role": "buyer"}, 403, "auth.forbidden"),
        (other.headers, {"phone": unique_phone(), "role": "buyer"}, 404, "not_found"),
    ]:
        refused = await client.post(path, json=body, headers=headers)
        assert refused.status_code == status, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        if code:
            assert refused.json()["code"] == code
    assert await invitations_of(session_factory, kitchen.organization_id) == before
