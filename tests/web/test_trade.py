"""The cooperative's sales and purchases for a chosen period, over HTTP."""

from __future__ import annotations

import datetime as dt

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.builders.catalog import create_listing
from tests.builders.orders import order_body, placed_order
from tests.support import Actors, local_today
from tests.web.desk import desk
from tests.web.people import PASSWORD
from tests.web.test_journey import pages
from tests.web.test_pages import sign_in

__all__ = ["pages"]


async def test_sales_of_a_period_count_what_was_delivered_as_the_buyer_pays_it(
    pages: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    d = await desk(pages, actors, session_factory)
    await create_listing(pages, d.coop, d.product_id, tiers=[(1, 28_000)], stock=40)
    tomorrow = local_today() + dt.timedelta(days=1)
    order = await placed_order(
        pages,
        d.kitchen,
        order_body(
            [(d.product_id, 4)], date=tomorrow.isoformat(), region_code=d.kitchen.region_code
        ),
    )
    [leg] = order.legs
    assert (await pages.post(f"/v1/legs/{leg.id}/ship", headers=d.coop.headers)).status_code == 200
    delivered = await pages.post(
        f"/v1/legs/{leg.id}/deliver", json={"received_quantity": 3}, headers=d.kitchen.headers
    )
    assert delivered.status_code == 200, delivered.text
    await sign_in(pages, d.clerk_phone, PASSWORD)
    period = {"dari": local_today().isoformat(), "sampai": tomorrow.isoformat()}
    report = await pages.get("/penjualan", params=period)
    assert report.status_code == 200
    assert "SPPG Meja Uji" in report.text
    assert "Rp84.000" in report.text or "Rp93.240" in report.text  # 3 at Rp28.000 (+ VAT)
    before = await pages.get("/penjualan", params={"dari": "2020-01-01", "sampai": "2020-01-31"})
    assert "SPPG Meja Uji" not in before.text
    assert before.text.count("Tidak ada yang dikirim dalam periode ini.") == 2
    bad = await pages.get("/penjualan", params={"dari": "kemarin"})
    assert bad.status_code == 422
    assert "Tulis tanggal seperti di kalender" in bad.text
