"""The demo data set: Mojokerto's 18 neighbourhood cooperatives and their trading partners.

Idempotent: organizations are found by slug and only created when missing. API keys are
stored hashed and can't be shown again, so each run revokes the previous demo keys and
issues fresh ones.
"""

from __future__ import annotations

import datetime as dt
import uuid

from redis.asyncio import Redis
from sqlalchemy import update

from marketplace.accounts import PeopleService
from marketplace.accounts.domain import OrganizationKind, Role
from marketplace.accounts.models import ApiKey, Organization
from marketplace.accounts.principal_cache import Invalidation, publish_invalidation
from marketplace.accounts.schemas import ApiKeyCreate, OrganizationCreate
from marketplace.accounts.service import AccountsService
from marketplace.db import UnitOfWork, create_engine, create_session_factory, unit_of_work
from marketplace.demo_catalog import demo_listings, demo_products
from marketplace.listings.domain.pricing import PriceTier, validate_tiers
from marketplace.listings.service import ListingService, ProductService
from marketplace.reports.domain import DEFAULT_MEMBERS_TARGET_BPS, DEFAULT_TURNOVER_TARGET_BPS
from marketplace.reports.models import Oversight
from marketplace.reports.repository import OversightRepository

DEMO_KEY_NAME = "demo"
# The city's cooperative office, which oversees Kota Mojokerto's (35.76) KKMP.
CITY_OFFICE_SLUG = "dinkop-mojokerto"
CITY_REGION = "35.76"
# Every demo person signs in to the pages with this password (development data only).
DEMO_PASSWORD = "koperasi-demo"  # noqa: S105 (demo data, printed by `make run`)

# Kota Mojokerto (35.76): three kecamatan, eighteen kelurahan, one KKMP each.
MOJOKERTO_KELURAHAN: dict[tuple[str, str], list[str]] = {
    ("35.76.01", "Prajurit Kulon"): [
        "Blooto", "Kauman", "Mentikan", "Prajurit Kulon", "Pulorejo", "Surodinawan",
    ],
    ("35.76.02", "Magersari"): [
        "Balongsari", "Gedongan", "Gununggedangan", "Kedundung", "Magersari", "Wates",
    ],
    ("35.76.03", "Kranggan"): [
        "Jagalan", "Kranggan", "Meri", "Miji", "Purwotengah", "Sentanan",
    ],
}  # fmt: skip


def _slug(name: str) -> str:
    return name.lower().replace(" ", "-")


def demo_organizations() -> list[tuple[OrganizationCreate, Role]]:
    """Each demo organization with the role of the key printed for it."""
    orgs: list[tuple[OrganizationCreate, Role]] = []
    for (district_code, _district), villages in MOJOKERTO_KELURAHAN.items():
        for index, village in enumerate(villages, start=1):
            orgs.append(
                (
                    OrganizationCreate(
                        kind=OrganizationKind.COOPERATIVE,
                        name=f"KKMP {village}",
                        slug=f"kkmp-{_slug(village)}",
                        region_code=f"{district_code}.{1000 + index}",
                        city="Kota Mojokerto",
                        npwp=f"0{district_code.replace('.', '')}{index:02d}0000001"[:16].ljust(
                            16, "0"
                        ),
                        nib=f"91200{district_code.replace('.', '')}{index:02d}"[:13].ljust(13, "0"),
                    ),
                    Role.SELLER,
                )
            )
    orgs += [
        (
            OrganizationCreate(
                kind=OrganizationKind.COOPERATIVE,
                name="KKMP Sukorejo (Pasar Legi)",
                slug="kkmp-sukorejo-blitar",
                region_code="35.72.01.1004",
                city="Kota Blitar",
                npwp="0357201040000001",
                nib="9120035720104",
            ),
            Role.SELLER,
        ),
        (
            OrganizationCreate(
                kind=OrganizationKind.BULOG,
                name="Perum Bulog Kantor Cabang Surabaya Selatan",
                slug="bulog-surabaya-selatan",
                region_code="35.78",
                city="Kota Surabaya",
                npwp="0010006310540000",
                vat_registered=True,
            ),
            Role.SELLER,
        ),
        (
            OrganizationCreate(
                kind=OrganizationKind.BUMN,
                name="PT Rajawali Nusindo Cabang Mojokerto",
                slug="rajawali-nusindo-mojokerto",
                region_code="35.76",
                city="Kota Mojokerto",
                npwp="0013103760620000",
                vat_registered=True,
            ),
            Role.SELLER,
        ),
        _umkm("Tempe Bu Sri", "umkm-tempe-bu-sri", "35.76.01.1001"),
        _umkm("Keripik Tempe Onde", "umkm-keripik-onde", "35.76.02.1003"),
        _umkm("Sayur Segar Pak Darto", "umkm-sayur-pak-darto", "35.76.03.1001"),
        _umkm("Telur Ayam Kampung Blitar", "umkm-telur-blitar", "35.72.01.1004"),
        (
            OrganizationCreate(
                kind=OrganizationKind.FOOD_STALL,
                name="Warung Nasi Bu Ning",
                slug="warung-bu-ning",
                region_code="35.76.02.1005",
                city="Kota Mojokerto",
            ),
            Role.BUYER,
        ),
        _kitchen("SPPG Mojokerto Magersari 1", "sppg-magersari-1", "35.76.02.1005"),
        _kitchen("SPPG Mojokerto Prajurit Kulon 1", "sppg-prajurit-kulon-1", "35.76.01.1004"),
        _kitchen("SPPG Mojokerto Kranggan 1", "sppg-kranggan-1", "35.76.03.1002"),
        (
            OrganizationCreate(
                kind=OrganizationKind.GOVERNMENT,
                name="Bagian Pengadaan Barang/Jasa Pemerintah Kota Mojokerto",
                slug="pemkot-mojokerto-pbj",
                region_code="35.76",
                city="Kota Mojokerto",
                npwp="0012345676020000",
            ),
            Role.PROCUREMENT,
        ),
        (
            OrganizationCreate(
                kind=OrganizationKind.TRADE_CENTER,
                name="Blitar Trade Center (Dinas Perdagangan Kota Blitar)",
                slug="blitar-trade-center",
                region_code="35.72",
                city="Kota Blitar",
                npwp="0012345677210000",
            ),
            Role.ADMIN,
        ),
        (
            OrganizationCreate(
                kind=OrganizationKind.GOVERNMENT,
                name="Dinas Perdagangan Kota Depok",
                slug="disdag-depok",
                region_code="32.76",
                city="Kota Depok",
            ),
            Role.BUYER,
        ),
        # Appended last: the demo people's phone numbers follow this list's order.
        (
            OrganizationCreate(
                kind=OrganizationKind.GOVERNMENT,
                name="Dinas Koperasi dan Usaha Mikro Kota Mojokerto",
                slug=CITY_OFFICE_SLUG,
                region_code="35.76",
                city="Kota Mojokerto",
            ),
            Role.VIEWER,
        ),
    ]
    return orgs


def _demo_npwp(prefix: str, region: str) -> str:
    """A made-up 16-digit NPWP for a demo organization, from its region (printed on its
    documents)."""
    return f"{prefix}{region.replace('.', '')}".ljust(15, "0")[:15] + "1"


def _umkm(name: str, slug: str, region: str) -> tuple[OrganizationCreate, Role]:
    city = "Kota Blitar" if region.startswith("35.72") else "Kota Mojokerto"
    return (
        OrganizationCreate(
            kind=OrganizationKind.UMKM,
            name=name,
            slug=slug,
            region_code=region,
            city=city,
            npwp=_demo_npwp("08", region),
        ),
        Role.SELLER,
    )


def _kitchen(name: str, slug: str, region: str) -> tuple[OrganizationCreate, Role]:
    return (
        OrganizationCreate(
            kind=OrganizationKind.KITCHEN,
            name=name,
            slug=slug,
            region_code=region,
            city="Kota Mojokerto",
            npwp=_demo_npwp("09", region),
        ),
        Role.BUYER,
    )


async def ensure_organizations(uow: UnitOfWork) -> dict[str, tuple[Organization, Role]]:
    service = AccountsService(uow)
    result: dict[str, tuple[Organization, Role]] = {}
    for data, role in demo_organizations():
        existing = await service.organizations.get_by_slug(data.slug)
        result[data.slug] = (existing or await service.create_organization(None, data), role)
    return result


async def ensure_catalogue(
    uow: UnitOfWork, organizations: dict[str, tuple[Organization, Role]]
) -> None:
    products = ProductService(uow)
    by_sku = {}
    for data in demo_products():
        by_sku[data.sku] = await products.products.get_by_sku(data.sku) or await products.create(
            None, data
        )
    listings = ListingService(uow)
    coops = [
        s
        for s, (o, _) in organizations.items()
        if s.startswith("kkmp-") and "35.76" in o.region_code
    ]
    for item in demo_listings(coops):
        seller = organizations[item.seller_slug][0]
        product = by_sku[item.sku]
        if await listings.listings.find_existing(seller.id, product.id, seller.id, item.mode.value):
            continue
        await listings.open_listing(
            seller_id=seller.id,
            seller_kind=seller.kind,
            owner_id=seller.id,
            region_code=seller.region_code,
            product=product,
            tiers=validate_tiers([PriceTier(min_quantity=q, unit_price=p) for q, p in item.tiers]),
            min_order_quantity=item.moq,
            supply_mode=item.mode,
            status=item.status,
            opening_stock=item.stock,
            principal=None,
        )


async def ensure_oversight(
    uow: UnitOfWork, organizations: dict[str, tuple[Organization, Role]]
) -> None:
    """The city office oversees the city's cooperatives, against the programme targets."""
    office = organizations[CITY_OFFICE_SLUG][0]
    oversights = OversightRepository(uow.session)
    if await oversights.of_office(office.id) is None:
        oversights.add(
            Oversight(
                office_organization_id=office.id,
                region_prefix=CITY_REGION,
                turnover_target_bps=DEFAULT_TURNOVER_TARGET_BPS,
                members_target_bps=DEFAULT_MEMBERS_TARGET_BPS,
            )
        )


async def seed_demo(database_url: str, redis_url: str | None = None) -> list[tuple[str, str, str]]:
    """Seed, revoke the previous demo keys and issue new ones. With `redis_url`, running
    API processes are told of the revocations (they cache authenticated keys)."""
    engine = create_engine(database_url, pool_size=2, max_overflow=0)
    try:
        async with unit_of_work(create_session_factory(engine)) as uow:
            organizations = await ensure_organizations(uow)
            await ensure_catalogue(uow, organizations)
            await ensure_oversight(uow, organizations)
            revoked = await uow.session.scalars(
                update(ApiKey)
                .where(ApiKey.name == DEMO_KEY_NAME, ApiKey.revoked_at.is_(None))
                .values(revoked_at=dt.datetime.now(dt.UTC))
                .returning(ApiKey.id)
            )
            revoked_ids = list(revoked)
            service = AccountsService(uow)
            printed: list[tuple[str, str, str]] = []
            for slug, (organization, role) in organizations.items():
                _, key = await service.create_api_key(
                    None, organization.id, ApiKeyCreate(role=role, name=DEMO_KEY_NAME)
                )
                printed.append((slug, role.value, key))
            await uow.commit()
        if redis_url is not None and revoked_ids:
            await _announce_revoked(redis_url, revoked_ids)
        return printed
    finally:
        await engine.dispose()


def demo_phone(number: int) -> str:
    """The demo person of the `number`th demo organization: 0811 0000 0001 and on."""
    return f"08110{number:07d}"


async def seed_demo_people(database_url: str) -> list[tuple[str, str, str]]:
    """One person per demo organization (idempotent), a member with the role its demo key
    has: (organization slug, role, phone number as written)."""
    engine = create_engine(database_url, pool_size=2, max_overflow=0)
    try:
        async with unit_of_work(create_session_factory(engine)) as uow:
            organizations = await ensure_organizations(uow)
            people = PeopleService(uow)
            printed: list[tuple[str, str, str]] = []
            for number, (slug, (organization, role)) in enumerate(organizations.items(), 1):
                phone = demo_phone(number)
                await people.ensure_member(
                    phone=phone,
                    name=f"Demo {organization.name}",
                    password=DEMO_PASSWORD,
                    organization_id=organization.id,
                    role=role,
                )
                printed.append((slug, role.value, phone))
            await uow.commit()
        return printed
    finally:
        await engine.dispose()


async def _announce_revoked(redis_url: str, api_key_ids: list[uuid.UUID]) -> None:
    redis = Redis.from_url(redis_url)
    try:
        for api_key_id in api_key_ids:
            await publish_invalidation(redis, Invalidation(api_key_id=api_key_id))
    finally:
        await redis.aclose()


async def create_platform_admin_key(database_url: str) -> str:
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    try:
        async with unit_of_work(create_session_factory(engine)) as uow:
            service = AccountsService(uow)
            platform = await service.ensure_platform_organization()
            _, key = await service.create_api_key(
                None, platform.id, ApiKeyCreate(role=Role.ADMIN, name="admin-key")
            )
            await uow.commit()
        return key
    finally:
        await engine.dispose()
