"""The pages over HTTP (no browser): sign-in, CSRF, invitations, organizations."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.accounts import Role
from marketplace.accounts.models import Person, SignInFailure, WebSession
from tests.support import Actors
from tests.web.people import PASSWORD, invitation, member, unique_phone

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
async def pages(client: AsyncTestClient[Litestar]) -> AsyncIterator[AsyncTestClient[Litestar]]:
    client.cookies.clear()
    yield client
    client.cookies.clear()


async def form_token(pages: AsyncTestClient[Litestar], path: str) -> str:
    page = await pages.get(path)
    found = CSRF.search(page.text)
    assert found, page.text
    return found.group(1)


async def sign_in(pages: AsyncTestClient[Litestar], phone: str, password: str) -> object:
    token = await form_token(pages, "/masuk")
    return await pages.post(
        "/masuk",
        data={"csrf_token": token, "phone": phone, "password": password},
        follow_redirects=False,
    )


async def test_a_member_signs_in_sees_today_and_signs_out(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    kitchen = await actors.org("kitchen", name="SPPG Uji Coba")
    phone = await member(session_factory, kitchen.organization_id, name="Bu Ratna")
    await pages.get("/masuk")
    before = pages.cookies.get("sesi")
    assert before
    answer = await sign_in(pages, phone, PASSWORD)
    assert answer.status_code == 303
    # A new session key once signed in; the one handed out before is gone from the store.
    after = pages.cookies.get("sesi")
    assert after
    assert after != before
    async with session_factory() as session:
        assert await session.get(WebSession, before) is None
        assert await session.get(WebSession, after) is not None
    assert answer.headers["location"] == "/hari-ini"
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    today = await pages.get("/hari-ini")
    assert today.status_code == 200
    assert "Bu Ratna" in today.text
    assert "SPPG Uji Coba" in today.text
    assert '<html lang="id">' in today.text
    token = CSRF.search(today.text)
    assert token
    out = await pages.post("/keluar", data={"csrf_token": token.group(1)}, follow_redirects=False)
    assert out.status_code == 303
    assert (await pages.get("/hari-ini", follow_redirects=False)).headers["location"] == "/masuk"


async def test_a_wrong_password_is_refused_with_a_message_and_counted(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    kitchen = await actors.org("kitchen")
    phone = await member(session_factory, kitchen.organization_id)
    answer = await sign_in(pages, phone, "bukan-sandinya")
    assert answer.status_code == 401
    assert "Nomor telepon atau kata sandi salah." in answer.text
    async with session_factory() as session:
        failures = await session.scalar(
            select(func.count())
            .select_from(SignInFailure)
            .where(SignInFailure.phone == "+62" + phone[1:])
        )
    assert failures == 1
    assert (await pages.get("/hari-ini", follow_redirects=False)).status_code in (302, 303)


async def test_repeated_failures_are_answered_with_a_clear_wait(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    kitchen = await actors.org("kitchen")
    phone = await member(session_factory, kitchen.organization_id)
    for _ in range(5):
        assert (await sign_in(pages, phone, "bukan-sandinya")).status_code == 401
    answer = await sign_in(pages, phone, PASSWORD)
    assert answer.status_code == 429
    assert "Terlalu banyak percobaan masuk yang gagal" in answer.text
    assert int(answer.headers["retry-after"]) > 0


async def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    kitchen = await actors.org("kitchen")
    phone = await member(session_factory, kitchen.organization_id)
    await pages.get("/masuk")
    answer = await pages.post(
        "/masuk", data={"phone": phone, "password": PASSWORD}, follow_redirects=False
    )
    assert answer.status_code == 403
    assert "Formulir kedaluwarsa" in answer.text
    assert (await pages.get("/hari-ini", follow_redirects=False)).headers["location"] == "/masuk"
    forged = await pages.post(
        "/masuk",
        data={"csrf_token": "tebakan", "phone": phone, "password": PASSWORD},
        follow_redirects=False,
    )
    assert forged.status_code == 403


async def test_an_invitation_makes_an_account_once_and_an_expired_one_none(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    kitchen = await actors.org("kitchen", name="SPPG Undangan")
    phone = unique_phone()
    token = await invitation(session_factory, kitchen.organization_id, phone)
    csrf = await form_token(pages, f"/undangan/{token}")
    short = await pages.post(
        f"/undangan/{token}",
        data={
            "csrf_token": csrf,
            "name": "Pak Joko",
            "password": "pendek",
            "password_again": "pendek",
        },
    )
    assert short.status_code == 422
    assert "Kata sandi paling sedikit 8 karakter." in short.text
    made = await pages.post(
        f"/undangan/{token}",
        data={
            "csrf_token": csrf,
            "name": "Pak Joko",
            "password": PASSWORD,
            "password_again": PASSWORD,
        },
        follow_redirects=False,
    )
    assert made.status_code == 303
    assert "SPPG Undangan" in (await pages.get("/hari-ini")).text
    pages.cookies.clear()
    assert (await pages.get(f"/undangan/{token}")).status_code == 410

    stale_phone = unique_phone()
    stale = await invitation(
        session_factory,
        kitchen.organization_id,
        stale_phone,
        now=dt.datetime.now(dt.UTC) - dt.timedelta(days=8),
    )
    page = await pages.get(f"/undangan/{stale}")
    assert page.status_code == 410
    assert "kedaluwarsa" in page.text
    csrf = CSRF.search(page.text)
    assert csrf
    refused = await pages.post(
        f"/undangan/{stale}",
        data={
            "csrf_token": csrf.group(1),
            "name": "X",
            "password": PASSWORD,
            "password_again": PASSWORD,
        },
    )
    assert refused.status_code == 410
    async with session_factory() as session:
        assert (
            await session.scalar(
                select(func.count())
                .select_from(Person)
                .where(Person.phone == "+62" + stale_phone[1:])
            )
            == 0
        )


async def test_a_person_in_two_organizations_chooses_and_never_reaches_a_third(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    first = await actors.org("kitchen", name="SPPG Pertama")
    second = await actors.org("cooperative", name="Koperasi Kedua")
    stranger = await actors.org("kitchen", name="SPPG Orang Lain")
    phone = await member(session_factory, first.organization_id)
    await member(session_factory, second.organization_id, phone=phone)
    answer = await sign_in(pages, phone, PASSWORD)
    assert answer.headers["location"] == "/organisasi"
    choices = await pages.get("/organisasi")
    assert "SPPG Pertama" in choices.text
    assert "Koperasi Kedua" in choices.text
    csrf = CSRF.search(choices.text)
    assert csrf
    chosen = await pages.post(
        "/organisasi",
        data={"csrf_token": csrf.group(1), "organization_id": str(second.organization_id)},
        follow_redirects=False,
    )
    assert chosen.headers["location"] == "/kerja"  # a cooperative's clerk: the work queue
    assert "Koperasi Kedua" in (await pages.get("/kerja")).text
    assert (await pages.get(f"/organisasi/{second.organization_id}")).status_code == 200
    assert (await pages.get(f"/organisasi/{first.organization_id}")).status_code == 404
    assert (await pages.get(f"/organisasi/{stranger.organization_id}")).status_code == 404
    refused = await pages.post(
        "/organisasi",
        data={"csrf_token": csrf.group(1), "organization_id": str(stranger.organization_id)},
    )
    assert refused.status_code == 404
    assert "Koperasi Kedua" in (await pages.get("/hari-ini")).text


async def test_english_is_the_second_language(pages: AsyncTestClient[Litestar]) -> None:
    csrf = await form_token(pages, "/masuk")
    await pages.post("/bahasa", data={"csrf_token": csrf, "lang": "en", "next": "//evil.example"})
    page = await pages.get("/masuk")
    assert '<html lang="en">' in page.text
    assert "Phone number" in page.text


async def test_the_api_and_its_keys_are_untouched(
    pages: AsyncTestClient[Litestar], actors: Actors
) -> None:
    kitchen = await actors.org("kitchen")
    me = await pages.get("/v1/me", headers=kitchen.headers)
    assert me.status_code == 200
    assert "set-cookie" not in me.headers


async def test_an_admin_makes_an_invitation_link_others_may_not(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    kitchen = await actors.org("kitchen", name="SPPG Admin Uji")
    admin = await member(session_factory, kitchen.organization_id, role=Role.ADMIN)
    buyer = await member(session_factory, kitchen.organization_id)
    await sign_in(pages, admin, PASSWORD)
    csrf = await form_token(pages, "/undang")
    bad = await pages.post("/undang", data={"csrf_token": csrf, "phone": "12", "role": "buyer"})
    assert bad.status_code == 422
    assert "Tuliskan nomor telepon Indonesia" in bad.text
    invited = unique_phone()
    made = await pages.post(
        "/undang", data={"csrf_token": csrf, "phone": invited, "role": "finance"}
    )
    assert made.status_code == 200
    link = re.search(r'id="invitation-link">([^<]+)<', made.text)
    assert link
    assert "wa.me/?text=" in made.text
    pages.cookies.clear()
    path = link.group(1).split("testserver.local", 1)[-1]
    assert (await pages.get(path)).status_code == 200

    await sign_in(pages, buyer, PASSWORD)
    assert (await pages.get("/undang")).status_code == 403
    csrf = await form_token(pages, "/hari-ini")
    refused = await pages.post(
        "/undang", data={"csrf_token": csrf, "phone": unique_phone(), "role": "admin"}
    )
    assert refused.status_code == 403
