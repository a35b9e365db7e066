"""The demo data set seeds idempotently and is valid through the same rules as the API."""

from __future__ import annotations

import datetime as dt

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.accounts import PeopleService
from marketplace.accounts.models import ApiKey, Organization
from marketplace.db import UnitOfWork
from marketplace.demo import DEMO_KEY_NAME, DEMO_PASSWORD, seed_demo, seed_demo_people
from marketplace.listings.models import Listing, Product, StockMovement
from marketplace.settings import Settings
from tests.support import ServiceUrls


async def counts(factory: async_sessionmaker[AsyncSession]) -> tuple[int, ...]:
    async with factory() as session:
        demo_orgs = select(Organization.id).where(
            Organization.slug.like("kkmp-%") | Organization.slug.like("sppg-%")
        )
        queries = (
            select(func.count()).select_from(demo_orgs.subquery()),
            select(func.count()).where(Product.sku.in_(["BRS-MED-5", "MKT-1L", "BRS-SPHP-5"])),
            select(func.count()).where(Listing.seller_organization_id.in_(demo_orgs)),
            select(func.count()).where(
                StockMovement.listing_id.in_(
                    select(Listing.id).where(Listing.seller_organization_id.in_(demo_orgs))
                )
            ),
            select(func.count()).where(ApiKey.name == DEMO_KEY_NAME, ApiKey.revoked_at.is_(None)),
        )
        return tuple([int(await session.scalar(q) or 0) for q in queries])


async def test_demo_seeds_once_and_reissues_keys(
    service_urls: ServiceUrls, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    first_keys = await seed_demo(service_urls.database_url)
    first = await counts(session_factory)
    second_keys = await seed_demo(service_urls.database_url)
    second = await counts(session_factory)
    assert first == second
    orgs, products, listings, movements, active_keys = second
    assert orgs == 19 + 3  # 18 Mojokerto + 1 Blitar cooperative, 3 kitchens
    assert products == 3
    assert listings > 18 * 6
    assert movements > 0
    assert active_keys == len(second_keys) == len(first_keys)
    assert {k for *_, k in first_keys}.isdisjoint({k for *_, k in second_keys})


async def test_reseeding_revokes_old_demo_keys_in_running_api_processes(
    service_urls: ServiceUrls, settings: Settings, client: AsyncTestClient[Litestar]
) -> None:
    """The API caches authenticated keys; a re-seed must reach that cache, not only the
    database, or the old demo keys keep working until the cache's TTL."""
    old_key = (await seed_demo(service_urls.database_url, settings.redis_url))[0][2]
    for _ in range(2):  # the second request is answered from the principal cache
        response = await client.get("/v1/listings", headers={"Authorization": f"Bearer {old_key}"})
        assert response.status_code == 200, response.text
    await seed_demo(service_urls.database_url, settings.redis_url)
    response = await client.get("/v1/listings", headers={"Authorization": f"Bearer {old_key}"})
    assert response.status_code == 401


async def test_demo_people_sign_in_with_the_demo_password_and_reseed_idempotently(
    service_urls: ServiceUrls, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    first = await seed_demo_people(service_urls.database_url)
    assert await seed_demo_people(service_urls.database_url) == first
    assert len({phone for _, _, phone in first}) == len(first)
    _, role, phone = first[0]
    async with session_factory() as session:
        uow = UnitOfWork(session)
        people = PeopleService(uow)
        person = await people.authenticate(
            phone, DEMO_PASSWORD, address="demo-test", now=dt.datetime.now(dt.UTC)
        )
        assert person is not None
        memberships = await people.memberships(person.id)
        assert [m.role.value for m in memberships] == [role]
        await session.rollback()
