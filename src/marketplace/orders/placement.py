"""Placing an order: split, check the budget, reserve stock, persist — one transaction.

Sources are read without locks; the chosen listings are then locked in id order and
reserved by one conditional statement. If stock moved in between (another order won the
race), the attempt rolls back to a savepoint and runs again on fresh stock, so a loser
sees an honest `orders.insufficient_supply` rather than an error. Rolling back to the
savepoint also releases the attempt's row locks, so a retry locks its new listings in id
order like any first attempt (keeping an earlier attempt's locks could deadlock).

The placement writes plain rows with one statement per table (no ORM objects for the
session to track and flush); what it returns are the rows it wrote.

VAT: each leg charges VAT by its product's treatment, except a consignment leg whose
consignor is not VAT-registered, which charges none (`domain.leg_vat_treatment`); the
leg stores that effective treatment, so later recomputations agree.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence

import msgspec
from sqlalchemy.exc import DBAPIError

from marketplace import clock, outbox
from marketplace.accounts import OrganizationDirectory, OrganizationKind, Principal, Role
from marketplace.db import UnitOfWork
from marketplace.errors import PermissionDenied, ValidationFailed
from marketplace.ids import new_id
from marketplace.listings.domain import SupplyMode
from marketplace.listings.stock_service import SourceListing, StockChanged, StockService
from marketplace.orders import budgets, splitting
from marketplace.orders.domain import leg_vat_treatment
from marketplace.orders.lifecycle import LegStatus, OrderStatus
from marketplace.orders.repository import BudgetRepository, OrderRepository
from marketplace.orders.schemas import OrderCreate
from marketplace.procurement import ContractCalloffs, LotPooling, NoBulogBranch
from marketplace.settings import DEFAULT_ORDER_DELIVERY_HORIZON_DAYS
from marketplace.tax import vat_for

MAX_ATTEMPTS = 3
STOCK_LEG_KINDS = frozenset({splitting.LegKind.STOCK, splitting.LegKind.CONSIGNMENT})
# The `order_legs` columns that differ between an order's legs (the insert takes one list
# per column; the others are the order's, or their defaults).
LEG_COLUMNS = (
    "id", "line_no", "kind", "product_id", "category", "listing_id", "contract_id",
    "allotment_id", "supplier_organization_id", "owner_organization_id", "quantity",
    "unit_price", "subtotal", "vat_treatment", "vat_amount", "levy_amount",
)  # fmt: skip


class UnknownProduct(ValidationFailed):
    code = "orders.unknown_product"


class DeliveryInPast(ValidationFailed):
    code = "orders.delivery_in_past"


class DeliveryTooFar(ValidationFailed):
    code = "orders.delivery_too_far"


class PricedLeg(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    planned: splitting.PlannedLeg
    category: str
    vat_treatment: str
    """The leg's effective treatment (`domain.leg_vat_treatment`)."""
    vat_amount: int


class PricedPlan(msgspec.Struct, frozen=True, kw_only=True):
    legs: tuple[PricedLeg, ...]
    shortfalls: tuple[splitting.Shortfall, ...]

    @property
    def subtotal(self) -> int:
        return sum(leg.planned.line_total for leg in self.legs)

    @property
    def vat_total(self) -> int:
        return sum(leg.vat_amount for leg in self.legs)

    @property
    def levy_total(self) -> int:
        return sum(leg.planned.levy_amount for leg in self.legs)

    @property
    def total(self) -> int:
        # The levy is carried by the supplier's side of a call-off, not added for the buyer.
        return self.subtotal + self.vat_total


class BudgetCheck(msgspec.Struct, frozen=True, kw_only=True):
    period_id: uuid.UUID
    envelope: int
    committed: int


class PlacedOrderRow(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The `orders` row a placement wrote (the fields of `models.Order`)."""

    id: uuid.UUID
    buyer_organization_id: uuid.UUID
    status: str
    delivery_date: dt.date
    delivery_region_code: str
    delivery_address: str
    notes: str | None
    subtotal: int
    vat_total: int
    levy_total: int
    total: int
    credited_total: int
    budget_period_id: uuid.UUID | None
    standing_order_id: uuid.UUID | None
    placed_by_api_key_id: uuid.UUID | None
    created_at: dt.datetime
    updated_at: dt.datetime


class PlacedLine(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """An `order_lines` row a placement wrote (the fields of `models.OrderLine`)."""

    id: uuid.UUID
    order_id: uuid.UUID
    line_no: int
    product_id: uuid.UUID
    quantity: int
    listing_id: uuid.UUID | None


class PlacedLeg(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """An `order_legs` row a placement wrote (the fields of `models.OrderLeg`); it is
    what procurement's pooling and call-offs read of a leg, too."""

    id: uuid.UUID
    order_id: uuid.UUID
    line_no: int
    kind: str
    product_id: uuid.UUID
    category: str
    listing_id: uuid.UUID | None
    contract_id: uuid.UUID | None
    allotment_id: uuid.UUID | None
    supplier_organization_id: uuid.UUID
    owner_organization_id: uuid.UUID
    buyer_organization_id: uuid.UUID
    quantity: int
    unit_price: int
    subtotal: int
    vat_treatment: str
    vat_amount: int
    levy_amount: int
    status: str
    shipped_at: dt.datetime | None = None
    delivered_at: dt.datetime | None = None
    cancelled_at: dt.datetime | None = None
    shipped_quantity: int | None = None
    delivered_quantity: int | None = None
    credited_amount: int = 0
    receipt_note: str | None = None
    created_at: dt.datetime


class PlacedOrder(msgspec.Struct, frozen=True, kw_only=True):
    order: PlacedOrderRow
    lines: list[PlacedLine]
    legs: list[PlacedLeg]


def to_sources(
    listings: Sequence[SourceListing], bulog_branches: Mapping[uuid.UUID, uuid.UUID]
) -> list[splitting.Source]:
    """Split sources of the listings. A `bulog_lot` listing is a lot bought from its
    cooperative's Bulog branch (`procurement.LotPooling.branches_for`); one whose
    cooperative has no branch is left out."""
    sources: list[splitting.Source] = []
    for s in listings:
        if s.supply_mode is SupplyMode.BULOG_LOT:
            if s.seller_organization_id not in bulog_branches:
                continue
            sources.append(
                splitting.BulogLotSource(
                    listing_id=s.listing_id,
                    product_id=s.product_id,
                    seller_org_id=s.seller_organization_id,
                    bulog_org_id=bulog_branches[s.seller_organization_id],
                    region_code=s.region_code,
                    capacity=None,
                    min_order_quantity=s.min_order_quantity,
                    tiers=s.tiers,
                )
            )
        else:
            sources.append(
                splitting.StockSource(
                    listing_id=s.listing_id,
                    product_id=s.product_id,
                    seller_org_id=s.seller_organization_id,
                    owner_org_id=s.owner_organization_id,
                    owner_kind=s.owner_kind,
                    region_code=s.region_code,
                    available=s.available,
                    min_order_quantity=s.min_order_quantity,
                    tiers=s.tiers,
                )
            )
    return sources


class OrderPlacement:
    def __init__(
        self,
        uow: UnitOfWork,
        *,
        delivery_horizon_days: int = DEFAULT_ORDER_DELIVERY_HORIZON_DAYS,
    ) -> None:
        self.uow = uow
        self.delivery_horizon_days = delivery_horizon_days
        self.orders = OrderRepository(uow.session)
        self.budgets = BudgetRepository(uow.session)
        self.stock = StockService(uow)
        self.directory = OrganizationDirectory(uow)
        self._buyer_time_zone = "Asia/Jakarta"

    async def _buyer(self, principal: Principal) -> splitting.Buyer:
        principal.require_role(Role.BUYER)
        if principal.is_platform:
            raise PermissionDenied("The platform does not place orders; use a buyer's key.")
        buyer = await self.directory.get(principal.organization_id)
        assert buyer is not None
        self._buyer_time_zone = buyer.time_zone
        return splitting.Buyer(
            organization_id=buyer.id, kind=buyer.kind.value, region_code=buyer.region_code
        )

    async def plan(
        self, principal: Principal, data: OrderCreate, buyer: splitting.Buyer
    ) -> PricedPlan:
        """Split against current stock and price every leg (reads only)."""
        product_ids = sorted({line.product_id for line in data.lines})
        products = await self.stock.product_facts(product_ids)
        missing = [str(pid) for pid in product_ids if pid not in products]
        if missing:
            raise UnknownProduct("Some products are not in the catalogue.", product_ids=missing)
        listings = await self.stock.sources(product_ids)
        # Procurement: each cooperative's Bulog branch, and trade-contract allotments with
        # weekly volume left for this buyer's city in the delivery week.
        lots = [s for s in listings if s.supply_mode is SupplyMode.BULOG_LOT]
        branches = await LotPooling(self.uow).branches_for(s.seller_organization_id for s in lots)
        sources = to_sources(listings, branches)
        rules = [
            splitting.ProductRule(
                product_id=p.id,
                programme=p.programme,
                unit_net_grams=p.net_content if p.net_content_unit == "GRM" else None,
                bulog_supplied=p.bulog_supplied,
            )
            for p in products.values()
        ]
        requested = [
            splitting.RequestedLine(
                line_no=i,
                product_id=line.product_id,
                quantity=line.quantity,
                listing_id=line.listing_id,
            )
            for i, line in enumerate(data.lines, start=1)
        ]
        raw = splitting.split_order(requested, sources, buyer, products=rules)
        if raw.shortfalls:
            # Trade contracts only take what listings can't fill, so they are read (and
            # the split redone with them) only when something is left unfilled: the
            # plan is the same as splitting with every source from the start.
            sources += await ContractCalloffs(self.uow).sources(
                product_ids, buyer.region_code, data.delivery.date
            )
            raw = splitting.split_order(requested, sources, buyer, products=rules)
        unbranched = {s.product_id for s in lots if s.seller_organization_id not in branches}
        if any(short.product_id in unbranched for short in raw.shortfalls):
            raise NoBulogBranch("No Bulog branch exists to supply the Bulog lot listings.")
        # A consignment leg's VAT depends on its consignor's registration (read with the
        # candidates, no further query).
        vat_registered = {s.listing_id: s.owner_vat_registered for s in listings}
        priced = []
        for leg in raw.legs:
            product = products[leg.product_id]
            treatment = leg_vat_treatment(
                leg.kind,
                product.vat_treatment,
                owner_vat_registered=leg.listing_id is not None
                and vat_registered.get(leg.listing_id, False),
            )
            priced.append(
                PricedLeg(
                    planned=leg,
                    category=product.category,
                    vat_treatment=treatment.value,
                    vat_amount=vat_for(leg.line_total, treatment),
                )
            )
        return PricedPlan(legs=tuple(priced), shortfalls=raw.shortfalls)

    async def budget_check(
        self, buyer: splitting.Buyer, delivery_date: dt.date, *, lock: bool
    ) -> BudgetCheck | None:
        if buyer.kind != OrganizationKind.KITCHEN:
            return None
        period = await self.budgets.envelope_covering(
            buyer.organization_id, delivery_date, for_update=lock
        )
        if period is None:
            return None
        period_id, envelope = period
        return BudgetCheck(
            period_id=period_id,
            envelope=envelope,
            committed=await self.budgets.committed(period_id),
        )

    async def preview(
        self, principal: Principal, data: OrderCreate
    ) -> tuple[PricedPlan, BudgetCheck | None]:
        buyer = await self._buyer(principal)
        await self._check_delivery_date(buyer, data.delivery.date)
        return await self.plan(principal, data, buyer), await self.budget_check(
            buyer, data.delivery.date, lock=False
        )

    async def _check_delivery_date(self, buyer: splitting.Buyer, day: dt.date) -> None:
        # `_buyer` read the organization already; its time zone decides what "today" is.
        today = clock.today_in(self._buyer_time_zone)
        if day < today:
            raise DeliveryInPast(
                "The delivery date is in the past.", delivery_date=day, today=today
            )
        latest = today + dt.timedelta(days=self.delivery_horizon_days)
        if day > latest:
            raise DeliveryTooFar(
                f"Orders are taken for delivery at most {self.delivery_horizon_days} days ahead.",
                delivery_date=day,
                today=today,
                latest_delivery_date=latest,
                horizon_days=self.delivery_horizon_days,
            )

    async def place(
        self,
        principal: Principal,
        data: OrderCreate,
        *,
        standing_order_id: uuid.UUID | None = None,
    ) -> PlacedOrder:
        buyer = await self._buyer(principal)
        await self._check_delivery_date(buyer, data.delivery.date)
        # The budget row lock serialises a kitchen's concurrent orders against its envelope.
        budget = await self.budget_check(buyer, data.delivery.date, lock=True)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            plan = await self.plan(principal, data, buyer)
            splitting.SplitPlan(
                legs=tuple(leg.planned for leg in plan.legs), shortfalls=plan.shortfalls
            ).require_complete()
            if budget is not None:
                budgets.check_within_envelope(
                    envelope=budget.envelope,
                    committed=budget.committed,
                    order_total=plan.total,
                )
            try:
                async with self._savepoint(plan):
                    return await self._write(
                        principal, data, buyer, plan, budget, standing_order_id
                    )
            except StockChanged:
                if attempt == MAX_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    @contextlib.asynccontextmanager
    async def _savepoint(self, plan: PricedPlan) -> AsyncIterator[None]:
        """The writes of one attempt, undone together if any of them fails (and with them
        the attempt's row locks). Procurement legs write through the ORM session, which
        must forget those objects too: the session's own savepoint. Otherwise the writes
        are plain statements, and a bare SAVEPOINT does — released by the commit, so it
        costs one statement, not two."""
        if any(leg.planned.kind not in STOCK_LEG_KINDS for leg in plan.legs):
            async with self.uow.session.begin_nested():
                yield
            return
        await self.orders.savepoint()
        try:
            yield
        except DBAPIError:
            # The entry point rolls the whole transaction back; on a lost connection a
            # ROLLBACK TO SAVEPOINT would fail too and hide the error that becomes a 503.
            raise
        except Exception:
            # (Cancelled: no more SQL; the unit of work rolls the whole transaction back.)
            await self.orders.rollback_to_savepoint()
            raise

    async def _write(
        self,
        principal: Principal,
        data: OrderCreate,
        buyer: splitting.Buyer,
        plan: PricedPlan,
        budget: BudgetCheck | None,
        standing_order_id: uuid.UUID | None,
    ) -> PlacedOrder:
        order_id = new_id()
        await self.stock.reserve(
            [
                (leg.planned.listing_id, leg.planned.quantity)
                for leg in plan.legs
                if leg.planned.kind in STOCK_LEG_KINDS and leg.planned.listing_id is not None
            ],
            reference=f"order:{order_id}",
            principal=principal,
        )
        placed_at = dt.datetime.now(dt.UTC)
        order = PlacedOrderRow(
            id=order_id,
            buyer_organization_id=buyer.organization_id,
            status=OrderStatus.PLACED.value,
            delivery_date=data.delivery.date,
            delivery_region_code=data.delivery.region_code,
            delivery_address=data.delivery.address,
            notes=data.notes,
            subtotal=plan.subtotal,
            vat_total=plan.vat_total,
            levy_total=plan.levy_total,
            total=plan.total,
            credited_total=0,
            budget_period_id=budget.period_id if budget else None,
            standing_order_id=standing_order_id,
            placed_by_api_key_id=principal.api_key_id,
            created_at=placed_at,
            updated_at=placed_at,
        )
        lines = [
            PlacedLine(
                id=new_id(),
                order_id=order_id,
                line_no=i,
                product_id=line.product_id,
                quantity=line.quantity,
                listing_id=line.listing_id,
            )
            for i, line in enumerate(data.lines, start=1)
        ]
        reserved = LegStatus.RESERVED.value
        buyer_id = buyer.organization_id
        legs = [
            PlacedLeg(
                id=new_id(),
                order_id=order_id,
                line_no=leg.planned.line_no,
                kind=leg.planned.kind.value,
                product_id=leg.planned.product_id,
                category=leg.category,
                listing_id=leg.planned.listing_id,
                contract_id=leg.planned.contract_id,
                allotment_id=leg.planned.allotment_id,
                supplier_organization_id=leg.planned.supplier_org_id,
                owner_organization_id=leg.planned.owner_org_id,
                buyer_organization_id=buyer_id,
                quantity=leg.planned.quantity,
                unit_price=leg.planned.unit_price,
                subtotal=leg.planned.line_total,
                vat_treatment=leg.vat_treatment,
                vat_amount=leg.vat_amount,
                levy_amount=leg.planned.levy_amount,
                status=reserved,
                created_at=placed_at,
            )
            for leg in plan.legs
        ]
        await self.orders.insert_placed(
            msgspec.structs.asdict(order),
            {
                "order_id": order_id,
                "id": [line.id for line in lines],
                "line_no": [line.line_no for line in lines],
                "product_id": [line.product_id for line in lines],
                "quantity": [line.quantity for line in lines],
                "listing_id": [line.listing_id for line in lines],
            },
            {
                "order_id": order_id,
                "buyer_organization_id": buyer_id,
                "status": reserved,
                "created_at": placed_at,
                **{column: [getattr(leg, column) for leg in legs] for column in LEG_COLUMNS},
            },
        )
        # Procurement, same transaction: pool `bulog_lot` legs into open lots, and take
        # `trade_contract` legs' weekly volume (StockChanged → retried like stock).
        await LotPooling(self.uow).pool(legs)
        await ContractCalloffs(self.uow).call_off(legs, data.delivery.date)
        suppliers = sorted({leg.supplier_organization_id for leg in legs})
        payload = {
            "order_id": str(order_id),
            "buyer_organization_id": str(buyer_id),
            "total": order.total,
            "currency": "IDR",
            "delivery_date": data.delivery.date.isoformat(),
        }
        await outbox.emit_many(
            self.uow, "order.placed", payload, organization_ids=[buyer_id, *suppliers]
        )
        return PlacedOrder(order=order, lines=lines, legs=legs)
