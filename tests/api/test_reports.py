"""The city office's report over the API: a known month and the same month a year before,
built through the API and dated into place, checked number by number; who sees what."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.builders.reports import city, known_month
from tests.support import Actors, assert_problem

MARCH = "from=2026-03&to=2026-03"


async def report(client: AsyncTestClient[Litestar], who: Any, query: str = MARCH) -> dict[str, Any]:
    response = await client.get(f"/v1/reports/cooperatives?{query}", headers=who.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_known_month_adds_up_exactly(
    client: AsyncTestClient[Litestar],
    actors: Actors,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    c, bulog = await known_month(client, actors, session_factory)
    body = await report(client, c.office)
    assert (body["region_prefix"], body["months"]) == (c.code, ["2026-03"])
    assert (body["turnover_target_bps"], body["members_target_bps"]) == (3000, 2000)
    by_id = {row["cooperative_id"]: row for row in body["cooperatives"]}
    assert set(by_id) == {str(c.coop_a.organization_id), str(c.coop_b.organization_id)}
    a = by_id[str(c.coop_a.organization_id)]
    [march] = a["months"]
    assert march["month"] == "2026-03"
    consigned_gross = 5 * 20_000 + 2 * 30_000
    expected_a = {
        "turnover": 600_000 + 240_000 + consigned_gross,
        "to_kitchens": 600_000,
        "to_stalls": 240_000,
        "to_government": 0,
        "to_others": 0,
        "consignment_sales": consigned_gross,
        "buyers": 2,
        "consignors": 2,
        "consignor_earnings": 90_000 + 54_000,
        "bulog_purchases": bulog,
        "supply": consigned_gross + bulog,
        "local_supply": 100_000 + bulog,
        "local_share_bps": (100_000 + bulog) * 10_000 // (consigned_gross + bulog),
        "trade_quantity": 5,
        "trade_amount": 5 * 55_000,
        "trade_levy": 5 * 55_000 * 150 // 10_000,
        "previous_turnover": 120_000,
        "growth_bps": (1_000_000 - 120_000) * 10_000 // 120_000,
        "target_turnover": 156_000,
        "target_attainment_bps": 1_000_000 * 10_000 // 156_000,
    }
    assert march["figures"] == expected_a
    assert a["total"] == expected_a
    b = by_id[str(c.coop_b.organization_id)]
    assert b["total"]["turnover"] == b["total"]["to_kitchens"] == 150_000
    assert (b["total"]["buyers"], b["total"]["previous_turnover"]) == (1, 0)
    assert b["total"]["growth_bps"] is None
    assert b["total"]["local_share_bps"] is None
    total = body["total"]["total"]
    assert total["turnover"] == 1_150_000
    assert total["buyers"] == 3  # kitchen, stall, the other kitchen: each counted once
    assert total["growth_bps"] == (1_150_000 - 120_000) * 10_000 // 120_000
    assert body["total"]["months"][0]["figures"] == total
    # April (local) holds the leg delivered on 31 March in UTC.
    april = await report(client, c.office, "from=2026-04&to=2026-04")
    assert april["total"]["total"]["turnover"] == 50_000

    # A cooperative reads its own figures, the same numbers; never another's.
    own = await report(client, c.coop_a)
    assert [row["cooperative_id"] for row in own["cooperatives"]] == [str(c.coop_a.organization_id)]
    assert own["cooperatives"][0]["total"]["turnover"] == expected_a["turnover"]
    other = f"/v1/reports/cooperatives?{MARCH}&cooperative={c.coop_b.organization_id}"
    assert_problem(
        await client.get(other, headers=c.coop_a.headers), 404, "reports.cooperative_not_found"
    )
    office = f"/v1/reports/cooperatives?{MARCH}&office={c.office.organization_id}"
    assert_problem(
        await client.get(office, headers=c.coop_a.headers), 404, "reports.office_not_found"
    )


async def test_an_office_sees_only_its_region(
    client: AsyncTestClient[Litestar], actors: Actors
) -> None:
    c = await city(actors, client)
    outside = f"/v1/reports/cooperatives?{MARCH}&cooperative={c.outsider.organization_id}"
    assert_problem(
        await client.get(outside, headers=c.office.headers), 404, "reports.cooperative_not_found"
    )
    inside = await client.get(
        f"/v1/reports/cooperatives?{MARCH}&cooperative={c.coop_a.organization_id}",
        headers=c.office.headers,
    )
    assert inside.status_code == 200, inside.text
    whole = await report(client, c.office)
    assert str(c.outsider.organization_id) not in {
        r["cooperative_id"] for r in whole["cooperatives"]
    }
    # Another office's report is not found; an office without a grant has nothing to see.
    other = await actors.org("government", "admin", region_code="19.01")
    theirs = f"/v1/reports/cooperatives?{MARCH}&office={c.office.organization_id}"
    assert_problem(await client.get(theirs, headers=other.headers), 404, "reports.office_not_found")
    assert_problem(
        await client.get(f"/v1/reports/cooperatives?{MARCH}", headers=other.headers),
        404,
        "reports.oversight_not_found",
    )
    # Kitchens get no report; bad months are a 4xx.
    assert_problem(
        await client.get(f"/v1/reports/cooperatives?{MARCH}", headers=c.kitchen.headers), 403
    )
    for query in ("from=2026-04&to=2026-03", "from=2026-13&to=2027-01", "from=2020-01&to=2026-01"):
        response = await client.get(f"/v1/reports/cooperatives?{query}", headers=c.office.headers)
        assert response.status_code in (400, 422), response.text


async def test_only_the_platform_grants_and_changes_oversight(
    client: AsyncTestClient[Litestar], actors: Actors
) -> None:
    c = await city(actors, client)
    url = f"/v1/organizations/{c.office.organization_id}/oversight"
    mine = await client.get(url, headers=c.office.headers)
    assert mine.status_code == 200, mine.text
    assert (mine.json()["region_prefix"], mine.json()["turnover_target_bps"]) == (c.code, 3000)
    for method, body in (("post", {"region_prefix": "35"}), ("patch", {"turnover_target_bps": 1})):
        answer = await client.request(method, url, json=body, headers=c.office.headers)
        assert_problem(answer, 403)
    assert_problem(await client.delete(url, headers=c.office.headers), 403)
    # Another organization in every role: not found.
    for role in ("admin", "buyer", "seller", "finance", "procurement", "viewer"):
        stranger = await actors.org("government", role, region_code="19.01")
        for method, body in (
            ("get", None),
            ("post", {"region_prefix": "35"}),
            ("patch", {}),
            ("delete", None),
        ):
            answer = await client.request(method, url, json=body, headers=stranger.headers)
            assert_problem(answer, 404, "reports.office_not_found")
    assert_problem(await client.get(url), 401)
    assert_problem(
        await client.post(url, json={"region_prefix": c.code}, headers=c.admin.headers),
        409,
        "reports.oversight_exists",
    )
    changed = await client.patch(url, json={"turnover_target_bps": 2500}, headers=c.admin.headers)
    assert changed.status_code == 200, changed.text
    assert (await report(client, c.office))["turnover_target_bps"] == 2500
    bad = await client.patch(url, json={"region_prefix": "35.7"}, headers=c.admin.headers)
    assert bad.status_code == 400, bad.text
    coop_url = f"/v1/organizations/{c.coop_a.organization_id}/oversight"
    assert_problem(
        await client.post(coop_url, json={"region_prefix": c.code}, headers=c.admin.headers),
        422,
        "reports.not_an_office",
    )
    assert (await client.delete(url, headers=c.admin.headers)).status_code == 204
    assert_problem(
        await client.get(url, headers=c.office.headers), 404, "reports.oversight_not_found"
    )
