"""The foundation pages in Chromium at 360x740: sign-in, invitations, organizations."""

from __future__ import annotations

import datetime as dt

from playwright.async_api import Browser, Page, expect
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.accounts import Role
from marketplace.accounts.models import Person
from tests.browser.checks import check_page, first_load_weight
from tests.browser.conftest import VIEWPORT
from tests.support import Actors
from tests.web.people import PASSWORD, invitation, member, unique_phone


async def sign_in(page: Page, live_url: str, phone: str, password: str) -> None:
    await page.goto(f"{live_url}/masuk")
    await page.get_by_label("Nomor telepon").fill(phone)
    await page.get_by_label("Kata sandi").fill(password)
    await page.get_by_role("button", name="Masuk").click()


async def test_a_member_signs_in_on_a_phone_and_every_page_passes(
    page: Page, live_url: str, actors: Actors, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    kitchen = await actors.org("kitchen", name="SPPG Magersari Uji")
    phone = await member(session_factory, kitchen.organization_id, name="Bu Ratna")
    await first_load_weight(page, f"{live_url}/masuk", "/masuk")
    await check_page(page)
    await sign_in(page, live_url, phone, PASSWORD)
    await expect(page.get_by_role("heading", name="Hari ini")).to_be_visible()
    await expect(page.get_by_text("Halo, Bu Ratna.")).to_be_visible()
    await expect(page.get_by_text("SPPG Magersari Uji")).to_be_visible()
    await check_page(page)
    await first_load_weight(page, f"{live_url}/hari-ini", "/hari-ini")
    await page.get_by_role("link", name="Tentang organisasi ini").click()
    await expect(page.get_by_role("heading", name="SPPG Magersari Uji")).to_be_visible()
    await check_page(page)
    await page.get_by_role("button", name="Keluar").click()
    await expect(page.get_by_role("heading", name="Masuk")).to_be_visible()
    await page.goto(f"{live_url}/hari-ini")
    await expect(page.get_by_role("heading", name="Masuk")).to_be_visible()


async def test_a_wrong_password_is_told_next_to_the_field(
    page: Page, live_url: str, actors: Actors, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    kitchen = await actors.org("kitchen")
    phone = await member(session_factory, kitchen.organization_id)
    await sign_in(page, live_url, phone, "bukan-sandinya")
    error = page.locator("#password-error")
    await expect(error).to_have_text("Nomor telepon atau kata sandi salah.")
    await expect(page.get_by_label("Kata sandi")).to_have_attribute("aria-invalid", "true")
    await check_page(page)


async def test_an_invitation_is_accepted_and_an_expired_one_refused(
    page: Page, live_url: str, actors: Actors, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    kitchen = await actors.org("kitchen", name="SPPG Undangan Uji")
    token = await invitation(session_factory, kitchen.organization_id, unique_phone())
    await first_load_weight(page, f"{live_url}/undangan/{token}", "/undangan/{token}")
    await check_page(page)
    await page.get_by_label("Nama Anda").fill("Pak Joko")
    await page.get_by_label("Kata sandi", exact=True).fill(PASSWORD)
    await page.get_by_label("Ulangi kata sandi").fill(PASSWORD)
    await page.get_by_role("button", name="Buat akun saya").click()
    await expect(page.get_by_text("Halo, Pak Joko.")).to_be_visible()

    stale_phone = unique_phone()
    stale = await invitation(
        session_factory,
        kitchen.organization_id,
        stale_phone,
        now=dt.datetime.now(dt.UTC) - dt.timedelta(days=8),
    )
    await page.context.clear_cookies()
    await page.goto(f"{live_url}/undangan/{stale}")
    await expect(page.get_by_role("heading", name="Undangan tidak dapat dipakai")).to_be_visible()
    await check_page(page)
    async with session_factory() as session:
        count = select(func.count()).select_from(Person)
        assert await session.scalar(count.where(Person.phone == "+62" + stale_phone[1:])) == 0


async def test_a_form_without_its_csrf_token_is_refused(
    page: Page, live_url: str, actors: Actors, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    kitchen = await actors.org("kitchen")
    phone = await member(session_factory, kitchen.organization_id)
    await page.goto(f"{live_url}/masuk")
    await page.evaluate("document.querySelector('main input[name=csrf_token]').remove()")
    await page.get_by_label("Nomor telepon").fill(phone)
    await page.get_by_label("Kata sandi").fill(PASSWORD)
    await page.get_by_role("button", name="Masuk").click()
    await expect(page.get_by_role("heading", name="Formulir kedaluwarsa")).to_be_visible()
    await check_page(page)
    await page.goto(f"{live_url}/hari-ini")
    await expect(page.get_by_role("heading", name="Masuk")).to_be_visible()


async def test_two_organizations_are_chosen_between_and_a_third_is_not_found(
    page: Page, live_url: str, actors: Actors, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    first = await actors.org("kitchen", name="SPPG Pertama Uji")
    second = await actors.org("cooperative", name="Koperasi Kedua Uji")
    stranger = await actors.org("kitchen", name="SPPG Lain Uji")
    phone = await member(session_factory, first.organization_id)
    await member(session_factory, second.organization_id, phone=phone)
    await sign_in(page, live_url, phone, PASSWORD)
    await expect(page.get_by_role("heading", name="Pilih organisasi")).to_be_visible()
    await check_page(page)
    await page.get_by_role("button", name="Koperasi Kedua Uji").click()
    await expect(page.get_by_text("Anda bertindak untuk Koperasi Kedua Uji.")).to_be_visible()
    answer = await page.goto(f"{live_url}/organisasi/{stranger.organization_id}")
    assert answer is not None
    assert answer.status == 404
    await expect(page.get_by_role("heading", name="Tidak ditemukan")).to_be_visible()
    await check_page(page)


async def test_signing_in_works_with_javascript_off(
    browser: Browser,
    live_url: str,
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    kitchen = await actors.org("kitchen", name="SPPG Tanpa JS")
    phone = await member(session_factory, kitchen.organization_id, name="Bu Sri")
    context = await browser.new_context(viewport=VIEWPORT, java_script_enabled=False)
    try:
        page = await context.new_page()
        await sign_in(page, live_url, phone, PASSWORD)
        await expect(page.get_by_text("Halo, Bu Sri.")).to_be_visible()
        assert page.url.endswith("/hari-ini")
    finally:
        await context.close()


async def test_an_admin_makes_an_invitation_link_on_a_phone(
    page: Page, live_url: str, actors: Actors, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    kitchen = await actors.org("kitchen", name="SPPG Admin Uji")
    admin = await member(session_factory, kitchen.organization_id, role=Role.ADMIN)
    await sign_in(page, live_url, admin, PASSWORD)
    await page.get_by_role("link", name="Undang seseorang").click()
    await expect(page.get_by_role("heading", name="Undang seseorang")).to_be_visible()
    await check_page(page)
    await page.get_by_label("Nomor teleponnya").fill(unique_phone())
    await page.get_by_label("Peran").select_option("finance")
    await page.get_by_role("button", name="Buat tautan").click()
    await expect(page.locator("#invitation-link")).to_contain_text("/undangan/")
    await check_page(page)
