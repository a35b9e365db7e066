"""Members: a cooperative records its count month by month; the report carries the last
count forward and sets it against a year before and the office's members target (+20 %)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from marketplace import clock
from tests.builders.reports import city
from tests.support import Actor, Actors, assert_problem


async def record(
    client: AsyncTestClient[Litestar], who: Actor, coop: Actor, month: str, members: Any
) -> Any:
    return await client.put(
        f"/v1/reports/cooperatives/{coop.organization_id}/members/{month}",
        json={"members": members},
        headers=who.headers,
    )


async def test_members_against_a_year_before_and_the_target(
    client: AsyncTestClient[Litestar], actors: Actors
) -> None:
    c = await city(actors, client)
    for coop, month, members in (
        (c.coop_a, "2025-02", 100),
        (c.coop_a, "2026-02", 118),
        (c.coop_a, "2026-03", 130),
        (c.coop_b, "2025-03", 50),
        (c.coop_b, "2025-03", 40),  # corrected: the later record of a month stands
    ):
        recorded = await record(client, coop, coop, month, members)
        assert recorded.status_code == 200, recorded.text
        assert recorded.json() == {
            "cooperative_id": str(coop.organization_id),
            "month": month,
            "members": members,
        }
    body = (
        await client.get(
            "/v1/reports/cooperatives?from=2026-02&to=2026-04", headers=c.office.headers
        )
    ).json()
    by_id = {row["cooperative_id"]: row for row in body["cooperatives"]}
    a = by_id[str(c.coop_a.organization_id)]
    [feb, march, april] = [m["members"] for m in a["months"]]
    assert feb == {
        "members": 118,
        "previous_members": 100,
        "members_growth_bps": 1800,
        "target_members": 120,
        "members_target_attainment_bps": 118 * 10_000 // 120,
    }
    # March 2025 had no record: February's 100 stands.
    assert (march["members"], march["previous_members"]) == (130, 100)
    assert march["members_growth_bps"] == 3000
    assert april == march  # nothing recorded since: March's count stands
    assert a["members"] == april  # the period's: its last month
    b = by_id[str(c.coop_b.organization_id)]
    assert b["members"] == {
        "members": 40,
        "previous_members": 40,
        "members_growth_bps": 0,
        "target_members": 48,
        "members_target_attainment_bps": 40 * 10_000 // 48,
    }
    # All cooperatives: the sum of their counts.
    assert body["total"]["members"]["members"] == 170
    assert body["total"]["months"][0]["members"]["members"] == 118 + 40
    # The turnover figures are as they were: members sit beside them.
    assert "members" not in a["total"]


async def test_only_the_cooperative_records_its_members(
    client: AsyncTestClient[Litestar], actors: Actors
) -> None:
    c = await city(actors, client)
    # Another cooperative, the office, a kitchen, strangers in every role: not found.
    strangers = [c.coop_b, c.office, c.kitchen]
    for role in ("admin", "buyer", "seller", "finance", "procurement", "viewer"):
        strangers.append(await actors.org("cooperative", role, region_code="19.05.01.1001"))
    for who in strangers:
        assert_problem(
            await record(client, who, c.coop_a, "2026-03", 10), 404, "reports.cooperative_not_found"
        )
    url = f"/v1/reports/cooperatives/{c.coop_a.organization_id}/members/2026-03"
    assert_problem(await client.put(url, json={"members": 10}), 401)
    assert_problem(
        await record(client, c.admin, c.office, "2026-03", 10), 404, "reports.cooperative_not_found"
    )
    seller = await actors.org("cooperative", "seller", region_code=f"{c.code}.03.1001")
    assert_problem(await record(client, seller, seller, "2026-03", 10), 403)
    # A month after this one (in the cooperative's calendar), or no month at all: 422.
    today = clock.today_in("Asia/Jakarta")
    after = dt.date(today.year + 1, today.month, 1)
    assert_problem(
        await record(client, c.coop_a, c.coop_a, f"{after:%Y-%m}", 10),
        422,
        "reports.member_count_in_future",
    )
    assert_problem(
        await record(client, c.coop_a, c.coop_a, "2026-13", 10), 422, "reports.invalid_month_range"
    )
    for bad in (-1, 10_000_001, "banyak", None):
        assert_problem(await record(client, c.coop_a, c.coop_a, "2026-03", bad), 400)
    # The platform may record for a cooperative.
    assert (await record(client, c.admin, c.coop_a, "2026-03", 12)).status_code == 200
    # Nothing refused was kept: the office sees only the platform's record.
    body = (
        await client.get(
            "/v1/reports/cooperatives?from=2026-03&to=2026-03", headers=c.office.headers
        )
    ).json()
    assert body["total"]["members"]["members"] == 12
