"""A form sent twice does its work once: the same rendering of a form posted again (a
second tap on a slow connection, a reload that resends) lands where the first send led
and changes nothing more; sent again with other values it changes nothing either."""

from __future__ import annotations

import datetime as dt
import re

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.procurement.sourcing.models import GoodsReceipt
from tests.builders.catalog import create_listing
from tests.support import Actors
from tests.web.desk import desk
from tests.web.people import PASSWORD
from tests.web.test_journey import pages, token_of
from tests.web.test_pages import sign_in
from tests.web.test_sourcing_pages import (
    award_lowest_on_pages,
    quote_on_pages,
    rfq_form,
    rfqs_of,
    signed_in_as,
    world_of,
)
from tests.web.test_stock import listing_row

__all__ = ["pages"]


def once_of(html: str, action: str) -> str:
    """The once key of the form posting to `action`."""
    form = html[html.index(f'action="{action}"') :]
    found = re.search(r'name="once" value="([0-9a-f-]{36})"', form[: form.index("</form>")])
    assert found, f"no once field in the form to {action}"
    return found.group(1)


async def test_stock_received_twice_from_one_form_is_added_once(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    d = await desk(pages, actors, session_factory)
    listing = await create_listing(pages, d.coop, d.product_id, tiers=[(1, 28_000)], stock=40)
    await sign_in(pages, d.clerk_phone, PASSWORD)
    url = f"/stok/{listing['id']}"
    page = await pages.get(url)
    form = {"csrf_token": token_of(page.text), "once": once_of(page.text, f"{url}/terima")}
    for _ in range(3):
        sent = await pages.post(f"{url}/terima", data={**form, "received": "12"})
        assert sent.status_code == 200
        assert str(sent.url.path) == url
    assert (await listing_row(session_factory, listing["id"])).on_hand == 52
    # The same rendering sent with another number changes nothing and shows the stock.
    changed = await pages.post(f"{url}/terima", data={**form, "received": "5"})
    assert changed.status_code == 200
    assert (await listing_row(session_factory, listing["id"])).on_hand == 52
    # A fresh rendering is a new delivery.
    page = await pages.get(url)
    fresh = {"csrf_token": token_of(page.text), "once": once_of(page.text, f"{url}/terima")}
    assert fresh["once"] != form["once"]
    await pages.post(f"{url}/terima", data={**fresh, "received": "5"})
    assert (await listing_row(session_factory, listing["id"])).on_hand == 57
    # A form rendered before once existed (no key) still works, once per send.
    await pages.post(f"{url}/terima", data={"csrf_token": form["csrf_token"], "received": "1"})
    assert (await listing_row(session_factory, listing["id"])).on_hand == 58


async def test_an_rfq_and_a_goods_receipt_sent_twice_are_made_once(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    world = await world_of(pages, actors, session_factory)
    await signed_in_as(pages, world.officer)
    page = await pages.get("/pengadaan/baru")
    form = {**rfq_form(world, token_of(page.text)), "once": once_of(page.text, "/pengadaan")}
    first = await pages.post("/pengadaan", data=form)
    again = await pages.post("/pengadaan", data=form)
    assert str(again.url.path) == str(first.url.path)
    assert await rfqs_of(session_factory, world.office.organization_id) == 1
    rfq_path = str(first.url.path)
    await quote_on_pages(pages, world.coops[0][1], rfq_path, (12_000, 20_000))
    awarded = await award_lowest_on_pages(pages, session_factory, world, rfq_path)
    po_path = str(awarded.url.path)
    receipt = {
        "csrf_token": token_of(awarded.text),
        "once": once_of(awarded.text, f"{po_path}/bast"),
        "received-1": "40",
        "received-2": "10",
        "received_on": dt.date.today().isoformat(),
    }
    for _ in range(2):
        sent = await pages.post(f"{po_path}/bast", data=receipt)
        assert sent.status_code == 200
    async with session_factory() as session:
        receipts = select(func.count()).select_from(GoodsReceipt)
        po_id = po_path.rsplit("/", 1)[1]
        assert await session.scalar(receipts.where(GoodsReceipt.purchase_order_id == po_id)) == 1
    assert "Sebagian diterima" in sent.text
