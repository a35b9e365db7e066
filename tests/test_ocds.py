"""OCDS 1.1 release packages: the pure builder and the API feed, validated against the
standard's JSON schema (a trimmed copy under `tests/data/ocds/`, no network at run time)."""

from __future__ import annotations

import datetime as dt
import json
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.procurement.sourcing.domain import ocds
from tests.api.test_sourcing import (
    DELIVERY,
    SourcingWorld,
    award,
    close_quotes,
    publish,
    quote,
    quote_body,
    rfq_body,
)
from tests.api.test_sourcing import world as world

SCHEMAS = Path(__file__).parent / "data" / "ocds"
RELEASE_SCHEMA_URI = "https://standard.open-contracting.org/schema/1__1__5/release-schema.json"


@pytest.fixture(scope="module")
def validator() -> Any:
    package = json.loads((SCHEMAS / "release-package-schema.json").read_text())
    release = json.loads((SCHEMAS / "release-schema.json").read_text())

    def retrieve(uri: str) -> Any:
        if uri.rstrip("#") == RELEASE_SCHEMA_URI:
            return release
        raise ValueError(f"no network: {uri}")

    return jsonschema_rs.Draft4Validator(package, validate_formats=True, retriever=retrieve)


def assert_valid(validator: Any, package: dict[str, Any]) -> None:
    errors = [
        f"{'/'.join(map(str, e.instance_path))}: {e.message}"
        for e in validator.iter_errors(package)
    ]
    assert errors == []


def amount(value: dict[str, Any]) -> int:
    assert value["currency"] == "IDR"
    result: int = value["amount"]
    return result


def assert_reconciles(
    tender: dict[str, Any], contract: dict[str, Any], *, fully_received: bool
) -> None:
    """Tender before VAT, contract with VAT, treasury payment net of PPh 22: the published
    figures add up (the module doc of `ocds` states the rule)."""
    breakdown = contract["x_valueBreakdown"]
    value = amount(contract["value"])
    assert tender["x_valueExcludesVat"] is True
    assert amount(breakdown["beforeVat"]) <= amount(tender["value"])  # within the HPS
    assert amount(breakdown["beforeVat"]) + amount(breakdown["vat"]) == value
    assert value - amount(breakdown["pph22Withheld"]) == amount(breakdown["netPayable"])
    for tx in contract["implementation"]["transactions"]:
        invoice = tx["x_invoice"]
        paid = amount(tx["value"])
        assert amount(invoice["total"]) - amount(invoice["pph22Withheld"]) == paid
        if fully_received:  # contract value - PPh 22 = what the treasury paid
            assert amount(invoice["total"]) == value
            assert value - amount(breakdown["pph22Withheld"]) == paid
        else:
            assert amount(invoice["total"]) < value


def test_schema_catches_a_broken_package(validator: Any) -> None:
    assert not validator.is_valid({"version": "1.1", "releases": []})
    assert not validator.is_valid(
        {
            "uri": "https://example.org/p",
            "version": "1.1",
            "publishedDate": "2026-01-01T00:00:00+07:00",
            "publisher": {"name": "x"},
            "releases": [
                {
                    "ocid": "ocds-x-1",
                    "id": "1",
                    "date": "yesterday",
                    "tag": ["tender"],
                    "initiationType": "tender",
                }
            ],
        }
    )


def test_builder_output_is_a_valid_release_package(validator: Any) -> None:
    t0 = dt.datetime(2026, 11, 2, 1, 0, tzinfo=dt.UTC)
    office, coop_a, coop_b = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    parties = {
        office: ocds.Party(
            id=office, name="Bagian PBJ Kota Mojokerto", region_code="35.76", city="Kota Mojokerto"
        ),
        coop_a: ocds.Party(
            id=coop_a,
            name="KKMP Blooto",
            region_code="35.76.01.1001",
            city="Kota Mojokerto",
            npwp="0123456789012345",
        ),
        coop_b: ocds.Party(
            id=coop_b, name="KKMP Jagalan", region_code="35.76.03.1003", city="Kota Mojokerto"
        ),
    }
    rice = ocds.Item(
        line_no=1,
        description="Beras Medium 5 kg",
        quantity=100,
        unit_code="XSA",
        unit_label="karung 5 kg",
        category="rice",
    )
    po_b, po_a = uuid.uuid4(), uuid.uuid4()
    process = ocds.Process(
        rfq_id=uuid.uuid4(),
        title="Beras untuk dapur umum",
        status="awarded",
        buyer_id=office,
        published_at=t0,
        deadline=t0 + dt.timedelta(days=1),
        released_at=t0 + dt.timedelta(days=3),
        budget_code="RUP-2026-1",
        ceiling_amount=7_000_000,
        items=(rice,),
        tenderer_ids=(coop_a, coop_b),
        awards=(
            ocds.Award(
                id=po_b,
                supplier_id=coop_b,
                status="declined",
                created_at=t0 + dt.timedelta(days=1),
                items=(rice,),
                subtotal=6_300_000,
                vat=0,
                pph22=94_500,
                total=6_300_000,
                net_payable=6_205_500,
            ),
            ocds.Award(
                id=po_a,
                supplier_id=coop_a,
                status="paid",
                created_at=t0 + dt.timedelta(days=2),
                items=(
                    ocds.Item(
                        line_no=1,
                        description="Beras Medium 5 kg",
                        quantity=100,
                        unit_code="XSA",
                        unit_label="karung 5 kg",
                        category="rice",
                        unit_price=64_000,
                    ),
                ),
                subtotal=6_400_000,
                vat=0,
                pph22=96_000,
                total=6_400_000,
                net_payable=6_304_000,
                receipts=(
                    ocds.Receipt(
                        id=uuid.uuid4(),
                        document_number="BAST/1",
                        recorded_at=t0 + dt.timedelta(days=3),
                    ),
                ),
                payments=(
                    ocds.Payment(
                        id=uuid.uuid4(),
                        sp2d_number="SP2D-1",
                        recorded_at=t0 + dt.timedelta(days=3),
                        amount=6_304_000,
                        invoice_id=uuid.uuid4(),
                        invoice_total=6_400_000,
                        pph22=96_000,
                    ),
                ),
            ),
        ),
    )
    package = ocds.build_package(
        [process],
        parties,
        uri="https://kkmp.example/v1/procurement/ocds/releases",
        published_at=t0 + dt.timedelta(days=4),
    )
    assert_valid(validator, package)
    (release,) = package["releases"]
    assert release["ocid"] == f"ocds-kkmp01-{process.rfq_id}"
    assert release["tag"] == ["tender", "award", "contract", "implementation"]
    assert release["tender"]["items"][0]["unit"] == {
        "scheme": "UNCEFACT",
        "id": "XSA",
        "name": "karung 5 kg",
    }
    assert [a["status"] for a in release["awards"]] == ["cancelled", "active"]
    assert [c["status"] for c in release["contracts"]] == ["cancelled", "terminated"]
    (tx,) = release["contracts"][1]["implementation"]["transactions"]
    assert tx["value"] == {"amount": 6_304_000, "currency": "IDR"}
    assert tx["payee"]["id"] == ocds.party_id(coop_a)
    assert_reconciles(release["tender"], release["contracts"][1], fully_received=True)
    roles = {p["id"]: p["roles"] for p in release["parties"]}
    assert roles[ocds.party_id(office)] == ["buyer", "procuringEntity", "payer"]
    assert roles[ocds.party_id(coop_a)] == ["tenderer", "supplier", "payee"]


async def test_api_feed_validates_and_follows_the_process(
    client: AsyncTestClient[Litestar],
    world: SourcingWorld,
    session_factory: async_sessionmaker[AsyncSession],
    validator: Any,
) -> None:
    office, finance, (a, b, _) = world.office, world.finance, world.coops
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    sealed = await publish(client, office, rfq_body([(world.rice.id, 10)]))
    await quote(client, a, sealed["id"], quote_body([60_000]))
    rfq = await publish(
        client,
        office,
        rfq_body([(world.rice.id, 100), (world.oil.id, 200)], ceiling_amount=10_000_000),
    )
    await quote(client, a, rfq["id"], quote_body([64_000, 15_000]))
    await quote(client, b, rfq["id"], quote_body([63_000, 15_200]))
    await close_quotes(session_factory, rfq["id"])
    po = (await award(client, office, rfq["id"])).json()
    await client.post(
        f"/v1/procurement/purchase-orders/{po['id']}/receipts",
        json={
            "lines": [{"line_no": 1, "quantity": 100}, {"line_no": 2, "quantity": 200}],
            "received_on": DELIVERY,
            "document_number": "BAST/7",
        },
        headers=office.headers,
    )
    invoice = (
        await client.post(f"/v1/procurement/purchase-orders/{po['id']}/invoice", headers=b.headers)
    ).json()
    paid = await client.post(
        f"/v1/procurement/purchase-orders/{po['id']}/payments",
        json={"sp2d_number": "SP2D-7", "amount": invoice["net_payable"], "paid_on": DELIVERY},
        headers={**finance.headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert paid.status_code == 201, paid.text

    query = urllib.parse.urlencode({"since": since.isoformat()})
    response = await client.get(f"/v1/procurement/ocds/releases?{query}", headers=a.headers)
    assert response.status_code == 200, response.text
    package = response.json()
    assert_valid(validator, package)
    assert package["version"] == "1.1"
    by_ocid = {r["ocid"]: r for r in package["releases"]}
    open_release = by_ocid[f"ocds-kkmp01-{sealed['id']}"]
    assert open_release["tender"]["status"] == "active"
    assert "tenderers" not in open_release["tender"]  # quotes are sealed
    release = by_ocid[f"ocds-kkmp01-{rfq['id']}"]
    assert release["tag"] == ["tender", "award", "contract", "implementation"]
    assert release["tender"]["numberOfTenderers"] == 2
    assert [i["unit"]["id"] for i in release["tender"]["items"]] == ["XSA", "XBO"]
    (awarded,) = release["awards"]
    assert awarded["suppliers"][0]["id"] == ocds.party_id(uuid.UUID(str(b.organization_id)))
    assert awarded["value"] == {"amount": po["total"], "currency": "IDR"}
    assert [i["unit"]["value"]["amount"] for i in awarded["items"]] == [63_000, 15_200]
    (tx,) = release["contracts"][0]["implementation"]["transactions"]
    assert tx["id"] == "SP2D-7"
    assert tx["value"]["amount"] == invoice["net_payable"]
    assert tx["x_invoice"]["id"] == invoice["id"]
    assert release["contracts"][0]["value"]["amount"] == po["total"] == invoice["total"]
    assert_reconciles(release["tender"], release["contracts"][0], fully_received=True)
    assert release["planning"]["budget"]["id"] == "RUP-2026-35760-0042"

    future = urllib.parse.urlencode(
        {"since": (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()}
    )
    # Nothing released since then: no package at all (an empty one breaks minItems: 1).
    empty = await client.get(f"/v1/procurement/ocds/releases?{future}", headers=a.headers)
    assert (empty.status_code, empty.content) == (204, b"")
    assert not validator.is_valid({**package, "releases": []})
    naive = await client.get(
        "/v1/procurement/ocds/releases?since=2026-01-01T00:00:00", headers=a.headers
    )
    assert naive.status_code == 400
    for not_iso in ("0.5", "1700000000", "yesterday"):  # found by schemathesis: 0.5 was 1970
        response = await client.get(
            "/v1/procurement/ocds/releases", params={"since": not_iso}, headers=a.headers
        )
        assert response.status_code == 400, (not_iso, response.text)
    assert (await client.get("/v1/procurement/ocds/releases")).status_code == 401


def test_a_short_receipt_is_invoiced_and_paid_on_what_arrived(validator: Any) -> None:
    """80 of 100 sacks arrived: the contract keeps its value, the invoice and the treasury's
    payment are on the 80, and the payment is that invoice net of PPh 22."""
    t0 = dt.datetime(2026, 11, 2, 1, 0, tzinfo=dt.UTC)
    office, coop = uuid.uuid4(), uuid.uuid4()
    parties = {
        office: ocds.Party(id=office, name="PBJ", region_code="35.76", city="Kota Mojokerto"),
        coop: ocds.Party(id=coop, name="KKMP", region_code="35.76.01.1001", city="Mojokerto"),
    }
    oil = ocds.Item(
        line_no=1, description="Minyakita 1 L", quantity=1_000, unit_code="XBO",
        unit_label="botol", category="oil", unit_price=15_000,
    )  # fmt: skip
    ordered = 1_000 * 15_000
    received = 800 * 15_000
    vat, vat_received = ordered * 11 // 100, received * 11 // 100
    pph22, pph22_received = ordered * 150 // 10_000, received * 150 // 10_000
    process = ocds.Process(
        rfq_id=uuid.uuid4(), title="Minyak", status="awarded", buyer_id=office,
        published_at=t0, deadline=t0 + dt.timedelta(days=1),
        released_at=t0 + dt.timedelta(days=5), budget_code="RUP-1", ceiling_amount=16_000_000,
        items=(oil,), tenderer_ids=(coop,),
        awards=(
            ocds.Award(
                id=uuid.uuid4(), supplier_id=coop, status="paid",
                created_at=t0 + dt.timedelta(days=2), items=(oil,), subtotal=ordered, vat=vat,
                pph22=pph22, total=ordered + vat, net_payable=ordered + vat - pph22,
                payments=(
                    ocds.Payment(
                        id=uuid.uuid4(), sp2d_number="SP2D-9",
                        recorded_at=t0 + dt.timedelta(days=4),
                        amount=received + vat_received - pph22_received,
                        invoice_id=uuid.uuid4(), invoice_total=received + vat_received,
                        pph22=pph22_received,
                    ),
                ),
            ),
        ),
    )  # fmt: skip
    package = ocds.build_package(
        [process], parties, uri="https://kkmp.example/p", published_at=t0 + dt.timedelta(days=6)
    )
    assert_valid(validator, package)
    (release,) = package["releases"]
    (contract,) = release["contracts"]
    assert contract["value"]["amount"] == 16_650_000
    assert contract["implementation"]["transactions"][0]["value"]["amount"] == 13_140_000
    assert_reconciles(release["tender"], contract, fully_received=False)


def test_there_is_no_empty_package() -> None:
    with pytest.raises(ValueError, match="at least one release"):
        ocds.build_package(
            [], {}, uri="https://kkmp.example/p", published_at=dt.datetime.now(dt.UTC)
        )
