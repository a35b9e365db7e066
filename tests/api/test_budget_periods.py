"""A kitchen's budget periods: listed latest first, and never two over the same days —
the database refuses an overlap, however many creates race."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.accounts import OrganizationKind, Principal, Role
from marketplace.db import unit_of_work
from marketplace.errors import DomainError
from marketplace.orders.budget_service import BudgetService
from marketplace.orders.schemas import BudgetPeriodCreate
from tests.support import Actor, Actors, assert_problem, local_today


def url_of(kitchen: Actor) -> str:
    return f"/v1/kitchens/{kitchen.organization_id}/budget-periods"


async def test_periods_are_listed_latest_first_with_their_figures_page_by_page(
    client: AsyncTestClient[Litestar], actors: Actors
) -> None:
    kitchen = await actors.org("kitchen", "buyer")
    url = url_of(kitchen)
    start = local_today()
    made = []
    for n in range(3):  # 10 operating days each, two weeks apart: no overlap
        body = {
            "start_date": (start + dt.timedelta(days=14 * n)).isoformat(),
            "portions_per_day": 100 + n,
            "rupiah_per_portion": 10_000,
        }
        created = await client.post(url, json=body, headers=kitchen.headers)
        assert created.status_code == 201, created.text
        made.append(created.json())
    first = await client.get(url, params={"limit": 2}, headers=kitchen.headers)
    assert first.status_code == 200, first.text
    page = first.json()
    assert [p["id"] for p in page["items"]] == [made[2]["id"], made[1]["id"]]
    assert page["items"][0] == made[2]  # the same figures as the period's own answer
    rest = await client.get(
        url, params={"limit": 2, "cursor": page["next_cursor"]}, headers=kitchen.headers
    )
    assert [p["id"] for p in rest.json()["items"]] == [made[0]["id"]]
    assert rest.json()["next_cursor"] is None

    other = await actors.org("kitchen", "buyer")
    assert_problem(await client.get(url, headers=other.headers), 404)
    assert (await client.get(url_of(other), headers=other.headers)).json()["items"] == []
    bad = await client.get(url, params={"cursor": "WyJ4Il0"}, headers=kitchen.headers)
    assert_problem(bad, 400, "pagination.invalid_cursor")


async def test_twenty_simultaneous_creates_of_one_period_make_one(
    actors: Actors, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    kitchen = await actors.org("kitchen", "buyer")
    principal = Principal(
        api_key_id=uuid.uuid4(),
        organization_id=kitchen.organization_id,
        organization_kind=OrganizationKind.KITCHEN,
        role=Role.BUYER,
    )
    start = local_today() + dt.timedelta(days=3)

    async def create(offset: int) -> str:
        # Start dates a day apart: every pair overlaps, so at most one may exist.
        data = msgspec.convert(
            {
                "start_date": (start + dt.timedelta(days=offset % 2)).isoformat(),
                "portions_per_day": 100,
                "rupiah_per_portion": 10_000,
            },
            BudgetPeriodCreate,
        )
        async with unit_of_work(session_factory) as uow:
            try:
                await BudgetService(uow).create(principal, kitchen.organization_id, data)
            except DomainError as refused:
                return refused.code
            await uow.commit()
            return "created"

    outcomes = await asyncio.gather(*(create(n) for n in range(20)))
    assert sorted(set(outcomes)) == ["created", "orders.budget_period_overlaps"]
    assert outcomes.count("created") == 1
    async with session_factory() as session:
        count = await session.scalar(
            text("SELECT count(*) FROM budget_periods WHERE kitchen_organization_id = :k"),
            {"k": kitchen.organization_id},
        )
    assert count == 1


async def test_the_database_refuses_an_overlapping_period(
    actors: Actors, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    kitchen = await actors.org("kitchen", "buyer")
    insert = text(
        "INSERT INTO budget_periods (id, kitchen_organization_id, start_date, end_date, "
        "operating_days, bands, envelope) VALUES (:id, :k, :s, :e, 10, '[]', 0)"
    )
    day = local_today()
    async with session_factory() as session:
        await session.execute(
            insert, {"id": uuid.uuid4(), "k": kitchen.organization_id, "s": day, "e": day}
        )
        await session.commit()
        # Touching it on its last day is an overlap too ('[]' bounds).
        with pytest.raises(IntegrityError, match="ex_budget_periods_no_overlap"):
            await session.execute(
                insert,
                {
                    "id": uuid.uuid4(),
                    "k": kitchen.organization_id,
                    "s": day - dt.timedelta(days=5),
                    "e": day,
                },
            )
