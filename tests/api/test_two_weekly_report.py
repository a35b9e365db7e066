"""The kitchen's two-weekly report over the API: figures equal the sums of a known
fortnight computed by hand; the PDF holds every delivery and its BAST number (the same
number as the BAST's own PDF); the CSV parses and matches; another organization: 404."""

from __future__ import annotations

import csv
import datetime as dt
import io
from fractions import Fraction
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.builders.documents import read_pdf
from tests.builders.fortnight import Fortnight, fortnight
from tests.support import Actors, assert_problem


@pytest.fixture
async def world(client: AsyncTestClient[Litestar], actors: Actors) -> Fortnight:
    return await fortnight(client, actors)


def permille(part: int, whole: int) -> int:
    """Half up, computed apart from the product's code."""
    exact = Fraction(part * 1000, whole)
    return int(exact + Fraction(1, 2))


def base(world: Fortnight) -> str:
    return f"/v1/kitchens/{world.kitchen.organization_id}/reports/two-weekly"


async def figures(
    client: AsyncTestClient[Litestar], world: Fortnight, **query: str
) -> dict[str, Any]:
    answer = await client.get(base(world), params=query, headers=world.kitchen.headers)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def check_figures(found: dict[str, Any], world: Fortnight) -> None:
    spent = world.spent
    cooperatives = world.amount("coop") + world.amount("coop_far")
    local_umkm = world.amount("umkm")  # the far UMKM is not of the kitchen's city
    assert found["spent"] == spent
    assert found["envelope"] == world.envelope == 20_000_000
    assert found["remaining"] == world.envelope - spent
    assert found["distinct_suppliers"] == 4
    assert found["min_suppliers"] == 15
    assert found["suppliers_missing"] == 11
    assert found["cooperative_amount"] == cooperatives
    assert found["local_umkm_amount"] == local_umkm
    assert found["cooperative_share_permille"] == permille(cooperatives, spent)
    assert found["local_umkm_share_permille"] == permille(local_umkm, spent)
    legs = [d["leg_id"] for d in found["deliveries"]]
    assert sorted(legs) == sorted(leg for leg, *_ in world.delivered)
    by_leg = {d["leg_id"]: d for d in found["deliveries"]}
    for leg, key, day, quantity, amount in world.delivered:
        d = by_leg[leg]
        assert (d["delivery_date"], d["delivered_quantity"], d["amount"]) == (
            day.isoformat(),
            quantity,
            amount,
        )
        assert d["supplier_name"] == world.suppliers[key].name
        assert d["bast_number"].startswith("BAST/")
    assert not set(legs) & set(world.outside + world.not_received)


async def test_the_report_of_a_period_and_of_its_dates_equal_the_sums_by_hand(
    client: AsyncTestClient[Litestar], world: Fortnight
) -> None:
    of_period = await figures(client, world, period_id=world.period_id)
    check_figures(of_period, world)
    assert of_period["period_id"] == world.period_id
    of_dates = await figures(
        client, world, **{"from": world.start.isoformat(), "to": world.end.isoformat()}
    )
    check_figures(of_dates, world)
    assert of_dates["deliveries"] == of_period["deliveries"]  # the same BAST numbers
    # A second report issues nothing new: the same numbers again.
    assert (await figures(client, world, period_id=world.period_id)) == of_period


async def test_each_bast_number_is_the_one_of_the_bast_s_own_pdf(
    client: AsyncTestClient[Litestar], world: Fortnight
) -> None:
    # One BAST downloaded before the report: the report shows its number.
    first_leg = world.delivered[0][0]
    own = await client.get(
        f"/v1/legs/{first_leg}/goods-receipt/document.pdf", headers=world.kitchen.headers
    )
    assert own.status_code == 200
    found = await figures(client, world, period_id=world.period_id)
    numbers = {d["leg_id"]: d["bast_number"] for d in found["deliveries"]}
    assert f"No. {numbers[first_leg]}" in read_pdf(own.content).text
    # A BAST the report issued is the one its own PDF shows later.
    last_leg = world.delivered[-1][0]
    later = await client.get(
        f"/v1/legs/{last_leg}/goods-receipt/document.pdf", headers=world.kitchen.headers
    )
    assert f"No. {numbers[last_leg]}" in read_pdf(later.content).text
    assert len(set(numbers.values())) == len(numbers)


async def test_the_pdf_holds_the_summary_every_delivery_and_each_bast(
    client: AsyncTestClient[Litestar], world: Fortnight
) -> None:
    answer = await client.get(
        f"{base(world)}.pdf",
        params={"period_id": world.period_id},
        headers=world.kitchen.headers,
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    assert "attachment" in answer.headers["content-disposition"]
    pdf = read_pdf(answer.content)
    found = await figures(client, world, period_id=world.period_id)
    assert "Laporan Dua Mingguan" in pdf.text
    assert world.kitchen_name in pdf.text
    assert "4 (minimal 15)" in pdf.text
    assert "kurang 11" in pdf.text
    for d in found["deliveries"]:
        # Once in the list of deliveries, once on its own BAST page.
        assert pdf.text.count(d["bast_number"]) >= 2, d["bast_number"]
    # Summary, list, then a page at least per BAST (each with its QR code).
    assert pdf.pages >= 2 + len(found["deliveries"])
    assert len(pdf.qr_codes) == len(found["deliveries"])


async def test_the_csv_parses_and_matches_the_deliveries(
    client: AsyncTestClient[Litestar], world: Fortnight
) -> None:
    query = {"from": world.start.isoformat(), "to": world.end.isoformat()}
    answer = await client.get(f"{base(world)}.csv", params=query, headers=world.kitchen.headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    found = await figures(client, world, **query)
    assert [r["id_leg"] for r in rows] == [d["leg_id"] for d in found["deliveries"]]
    for row, d in zip(rows, found["deliveries"], strict=True):
        assert row["no_bast"] == d["bast_number"]
        assert row["tanggal_antar"] == d["delivery_date"]
        assert row["pemasok"] == d["supplier_name"]
        assert int(row["jumlah_diterima"]) == d["delivered_quantity"]
        assert int(row["jumlah_rp"]) == d["amount"]
    assert sum(int(r["jumlah_rp"]) for r in rows) == world.spent


async def test_another_organization_gets_404_and_bad_ranges_are_refused(
    client: AsyncTestClient[Litestar], world: Fortnight, actors: Actors
) -> None:
    other_kitchen = await actors.org("kitchen", "buyer")
    viewer = await actors.key_for(world.kitchen, "viewer")
    supplier = world.suppliers["coop"].actor
    for path in (base(world), f"{base(world)}.pdf", f"{base(world)}.csv"):
        for stranger in (other_kitchen, supplier):
            hidden = await client.get(
                path, params={"period_id": world.period_id}, headers=stranger.headers
            )
            assert_problem(hidden, 404)
        # Another kitchen's period through one's own kitchen: not found either.
        own = f"/v1/kitchens/{other_kitchen.organization_id}/reports/two-weekly"
        crossed = await client.get(
            own, params={"period_id": world.period_id}, headers=other_kitchen.headers
        )
        assert_problem(crossed, 404)
        # Any role of the kitchen may read it, as its budget periods.
        seen = await client.get(path, params={"period_id": world.period_id}, headers=viewer.headers)
        assert seen.status_code == 200, seen.text
    day = world.start
    for query, status, code in [
        ({}, 400, "documents.report_scope_missing"),
        ({"from": day.isoformat()}, 400, "documents.report_scope_missing"),
        (
            {"from": day.isoformat(), "to": (day - dt.timedelta(days=1)).isoformat()},
            422,
            "orders.invalid_report_range",
        ),
        (
            {"from": day.isoformat(), "to": (day + dt.timedelta(days=31)).isoformat()},
            422,
            "orders.invalid_report_range",
        ),
        ({"from": "kemarin", "to": day.isoformat()}, 400, None),
        ({"period_id": "not-a-uuid"}, 400, None),
    ]:
        refused = await client.get(base(world), params=query, headers=world.kitchen.headers)
        assert_problem(refused, status, code)
