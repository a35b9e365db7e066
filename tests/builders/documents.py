"""What the documents' tests read papers of: a cooperative's order to a kitchen, shipped
and received, and the PDFs read back (text with pypdf, the QR code with zxing-cpp)."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from dataclasses import dataclass

import msgspec
import zxingcpp
from litestar import Litestar
from litestar.testing import AsyncTestClient
from pypdf import PdfReader

from tests.builders.catalog import Product, create_listing, new_oil_product, new_product
from tests.builders.orders import PlacedOrder, order_body, placed_order
from tests.support import Actor, Actors, local_today

COOP_NPWP = "0357602100000017"
KITCHEN_NPWP = "0357602200000025"


@dataclass(frozen=True)
class LegWorld:
    """A cooperative selling rice (VAT-exempt, Rp62.500) and oil (standard-rated,
    Rp20.000) to a kitchen: an order of 50 sacks and 10 bottles, one leg each."""

    coop: Actor
    coop_viewer: Actor
    kitchen: Actor
    kitchen_viewer: Actor
    stranger: Actor
    rice: Product
    oil: Product
    order: PlacedOrder
    coop_name: str
    kitchen_name: str

    def leg_of(self, product: Product) -> str:
        [leg] = [leg for leg in self.order.legs if leg.product_id == product.id]
        return leg.id


async def leg_world(client: AsyncTestClient[Litestar], actors: Actors) -> LegWorld:
    suffix = uuid.uuid4().hex[:6]
    admin = await actors.platform_admin()
    rice = await new_product(client, admin, name=f"Beras Medium Dokumen {suffix}")
    oil = await new_oil_product(client, admin, name=f"Minyakita Dokumen {suffix}", price_caps=[])
    coop_name, kitchen_name = f"KKMP Dokumen {suffix}", f"SPPG Dokumen {suffix}"
    coop = await actors.org("cooperative", "seller", name=coop_name, npwp=COOP_NPWP)
    kitchen = await actors.org(
        "kitchen", "buyer", name=kitchen_name, npwp=KITCHEN_NPWP, region_code=coop.region_code
    )
    await create_listing(client, coop, rice.id, tiers=[(1, 62_500)], stock=500)
    await create_listing(client, coop, oil.id, tiers=[(1, 20_000)], stock=500)
    tomorrow = (local_today() + dt.timedelta(days=1)).isoformat()
    order = await placed_order(
        client,
        kitchen,
        order_body([(rice, 50), (oil, 10)], date=tomorrow, region_code=coop.region_code),
    )
    return LegWorld(
        coop=coop,
        coop_viewer=await actors.key_for(coop, "viewer"),
        kitchen=kitchen,
        kitchen_viewer=await actors.key_for(kitchen, "viewer"),
        stranger=await actors.org("cooperative", "admin"),
        rice=rice,
        oil=oil,
        order=order,
        coop_name=coop_name,
        kitchen_name=kitchen_name,
    )


async def ship(client: AsyncTestClient[Litestar], seller: Actor, leg_id: str) -> None:
    shipped = await client.post(f"/v1/legs/{leg_id}/ship", headers=seller.headers)
    assert shipped.status_code == 200, shipped.text


async def deliver(
    client: AsyncTestClient[Litestar], buyer: Actor, leg_id: str, received: int, note: str = ""
) -> None:
    body: dict[str, object] = {"received_quantity": received}
    if note:
        body["note"] = note
    delivered = await client.post(f"/v1/legs/{leg_id}/deliver", json=body, headers=buyer.headers)
    assert delivered.status_code == 200, delivered.text


class ReadPdf(msgspec.Struct, frozen=True):
    text: str
    """Every page's text, whitespace collapsed to single spaces."""
    pages: int
    qr_codes: list[str]


def read_pdf(content: bytes) -> ReadPdf:
    reader = PdfReader(io.BytesIO(content))
    text = " ".join(page.extract_text() or "" for page in reader.pages)
    codes: list[str] = []
    for page in reader.pages:
        for image in page.images:
            assert image.image is not None
            codes += [found.text for found in zxingcpp.read_barcodes(image.image)]
    return ReadPdf(text=" ".join(text.split()), pages=len(reader.pages), qr_codes=codes)


ROLES = ("admin", "buyer", "seller", "finance", "procurement", "viewer")


async def strangers(actors: Actors) -> list[Actor]:
    """Keys of every role of organizations of three kinds that are party to nothing."""
    found: list[Actor] = []
    for kind in ("cooperative", "kitchen", "umkm"):
        base = await actors.org(kind, "admin")
        found += [await actors.key_for(base, role) for role in ROLES]
    return found


async def assert_hidden(client: AsyncTestClient[Litestar], url: str, others: list[Actor]) -> None:
    """Another organization, in every role, is told the document's object doesn't exist;
    no key is 401."""
    for other in others:
        response = await client.get(url, headers=other.headers)
        assert response.status_code == 404, (url, other.kind, other.role, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    assert (await client.get(url)).status_code == 401
