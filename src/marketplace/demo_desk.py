"""Demo consignment for the clerk's and the UMKM owner's pages: KKMP Blooto holds Tempe Bu
Sri's tempe on consignment. One delivery of it has been sold and settled (a statement with a
payout to transfer), more tempe waits to be received, and tomorrow's orders wait to be
picked and shipped. Made through the same services as the API; idempotent (nothing is made
again once the agreement exists).
"""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec

from marketplace import clock
from marketplace.accounts import OrganizationDirectory, PeopleService, Principal, Role
from marketplace.consignment import ConsignmentService, IntakeCreate, SettlementService
from marketplace.consignment.sales import SaleRecorder
from marketplace.consignment.schemas import AgreementCreate, BankAccount
from marketplace.db import UnitOfWork, create_engine, create_session_factory, unit_of_work
from marketplace.demo import DEMO_PASSWORD, demo_phone, ensure_organizations
from marketplace.listings import ListingService
from marketplace.listings.repository import ProductRepository
from marketplace.orders import DeliveryIn, OrderCreate, OrderLineIn, OrderPlacement, OrderService
from marketplace.orders.domain.placed import PlacedOrder

COOPERATIVE = "kkmp-blooto"
CONSIGNOR = "umkm-tempe-bu-sri"
KITCHEN = "sppg-prajurit-kulon-1"
TEMPE = "TMP-PAPAN"
RICE = "BRS-MED-5"


async def _acting(uow: UnitOfWork, slug_number: int, organization_id: uuid.UUID) -> Principal:
    """The demo person of the organization, acting with every right of its organization
    (the trusted CLI seeds what an admin and its finance would have done)."""
    people = PeopleService(uow)
    person = await people.people.person_by_phone("+62" + demo_phone(slug_number).removeprefix("0"))
    assert person is not None, "seed the demo people first"
    principal = await people.acting_as(person.id, organization_id)
    return msgspec.structs.replace(principal, role=Role.ADMIN)


# The cooperative's treasurer: settlements and payouts need the finance role, which its
# clerk (the demo person with the seller role of its key) does not have.
TREASURER_PHONE = "081100000099"


async def seed_demo_desk(database_url: str) -> tuple[bool, tuple[str, str, str]]:
    """Seed the demo consignment once (False when it was already there), and the
    cooperative's treasurer: (organization slug, role, phone number)."""
    engine = create_engine(database_url, pool_size=2, max_overflow=0)
    try:
        async with unit_of_work(create_session_factory(engine)) as uow:
            made = await _seed(uow)
            coop = (await ensure_organizations(uow))[COOPERATIVE][0]
            await PeopleService(uow).ensure_member(
                phone=TREASURER_PHONE,
                name=f"Bendahara {coop.name}",
                password=DEMO_PASSWORD,
                organization_id=coop.id,
                role=Role.FINANCE,
            )
            await uow.commit()
        return made, (COOPERATIVE, Role.FINANCE.value, TREASURER_PHONE)
    finally:
        await engine.dispose()


async def _seed(uow: UnitOfWork) -> bool:
    organizations = await ensure_organizations(uow)
    number = {slug: n for n, slug in enumerate(organizations, 1)}
    coop, umkm, kitchen = (organizations[s][0] for s in (COOPERATIVE, CONSIGNOR, KITCHEN))
    clerk = await _acting(uow, number[COOPERATIVE], coop.id)
    owner = await _acting(uow, number[CONSIGNOR], umkm.id)
    buyer = await _acting(uow, number[KITCHEN], kitchen.id)
    consignment = ConsignmentService(uow)
    if await consignment.repo.agreement_for_pair(coop.id, umkm.id, active_only=False):
        return False
    products = ProductRepository(uow.session)
    tempe, rice = await products.get_by_sku(TEMPE), await products.get_by_sku(RICE)
    assert tempe is not None, "seed the demo catalogue first"
    assert rice is not None, "seed the demo catalogue first"
    agreement = await consignment.create_agreement(
        clerk,
        AgreementCreate(
            consignor_id=umkm.id,
            commission_bps=1000,
            settlement_cycle_days=7,
            payout_account=BankAccount(
                bank_name="BRI", account_number="0012345678901", account_holder="Sri Wahyuni"
            ),
        ),
    )
    today = await OrganizationDirectory(uow).today_of(coop.id)
    # Received last week: 40 slabs at Rp5.500, in stock at the cooperative.
    received = await consignment.create_intake(
        clerk,
        IntakeCreate(agreement_id=agreement.id, product_id=tempe.id, quantity=40, unit_price=5_500),
    )
    assert received.listing_id is not None
    # Today's delivery of 15 slabs: shipped, received, sold; then settled.
    orders = OrderService(uow)
    sold = await _order(
        uow, buyer, kitchen.region_code, today, [(tempe.id, 15, received.listing_id)]
    )
    for leg in sold.legs:
        await orders.ship(clerk, leg.id)
        await orders.deliver(buyer, leg.id, 15, None)
        await SaleRecorder(uow).record_delivered_leg(leg.id)
    await SettlementService(uow).settle(coop.id, clock.now())
    # Waiting for the clerk: 30 more slabs proposed, and tomorrow's order to pick and ship.
    await consignment.create_intake(
        owner,
        IntakeCreate(
            agreement_id=agreement.id,
            product_id=tempe.id,
            quantity=30,
            unit_price=5_500,
            expiry_date=today + dt.timedelta(days=5),
        ),
    )
    rice_listing = await ListingService(uow).listings.find_existing(
        coop.id, rice.id, coop.id, "stock"
    )
    lines = [(tempe.id, 12, received.listing_id)]
    if rice_listing is not None:
        lines.append((rice.id, 10, rice_listing.id))
    await _order(uow, buyer, kitchen.region_code, today + dt.timedelta(days=1), lines)
    return True


async def _order(
    uow: UnitOfWork,
    buyer: Principal,
    region_code: str,
    day: dt.date,
    lines: list[tuple[uuid.UUID, int, uuid.UUID]],
) -> PlacedOrder:
    return await OrderPlacement(uow).place(
        buyer,
        OrderCreate(
            lines=[
                OrderLineIn(product_id=p, quantity=q, listing_id=listing) for p, q, listing in lines
            ],
            delivery=DeliveryIn(date=day, region_code=region_code, address="Jl. Raya Blooto 1"),
        ),
    )
