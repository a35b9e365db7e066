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

Rules at the moment of sale: the split ranks sources from the order's delivery region;
it is given each product's zone price caps as they are now, so nothing is sold above
the cap, whatever a listing or contract was priced at (`splitting`). SPHP rice: what the
buyer already ordered on its local day is read under a transaction-scoped lock on
(buyer, day), so two concurrent orders can't both fit under the daily limit. Trade
contracts' allotments are locked before their volume is read (`ContractCalloffs`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
import zoneinfo
from collections.abc import AsyncIterator

import msgspec
from sqlalchemy.exc import DBAPIError

from marketplace import clock, outbox
from marketplace.accounts import OrganizationDirectory, OrganizationKind, Principal, Role
from marketplace.db import UnitOfWork
from marketplace.errors import PermissionDenied, ValidationFailed
from marketplace.ids import new_id, new_ids
from marketplace.listings import (
    ProductFacts,
    StockChanged,
    StockService,
)
from marketplace.orders.domain import budgets, leg_vat_treatment, splitting
from marketplace.orders.domain.candidates import products_to_split_on_all
from marketplace.orders.domain.events import OrderPlaced
from marketplace.orders.domain.lifecycle import LegStatus, OrderStatus
from marketplace.orders.domain.placed import (
    BudgetCheck,
    PlacedLeg,
    PlacedLine,
    PlacedOrder,
    PlacedOrderRow,
    PricedLeg,
    PricedPlan,
)
from marketplace.orders.repository import BudgetRepository, OrderRepository
from marketplace.orders.schemas import OrderCreate
from marketplace.orders.sources import (
    CANDIDATES_PER_PRODUCT,
    Candidates,
    candidate_sources,
    to_contract_sources,
    within_prefixes,
)
from marketplace.procurement import ContractCalloffs, LotPooling, NoBulogBranch
from marketplace.settings import DEFAULT_ORDER_DELIVERY_HORIZON_DAYS, Settings
from marketplace.tax import vat_for

MAX_ATTEMPTS = 3
STOCK_LEG_KINDS = frozenset({splitting.LegKind.STOCK, splitting.LegKind.CONSIGNMENT})


class UnknownProduct(ValidationFailed):
    code = "orders.unknown_product"


class OrderInput(msgspec.Struct, frozen=True, kw_only=True):
    """What an order asks for, read once per placement: its products' catalogue facts
    and the split's view of its lines and products."""

    products: dict[uuid.UUID, ProductFacts]
    lines: list[splitting.RequestedLine]
    rules: list[splitting.ProductRule]


class DeliveryInPast(ValidationFailed):
    code = "orders.delivery_in_past"


class DeliveryTooFar(ValidationFailed):
    code = "orders.delivery_too_far"


def placement_policy(settings: Settings) -> splitting.SplitPolicy:
    """The programme rules in force, from the settings read at start-up."""
    return splitting.SplitPolicy(sphp_max_grams_per_day=settings.sphp_daily_limit_kg * 1000)


class OrderPlacement:
    def __init__(
        self,
        uow: UnitOfWork,
        policy: splitting.SplitPolicy = splitting.DEFAULT_POLICY,
        *,
        delivery_horizon_days: int = DEFAULT_ORDER_DELIVERY_HORIZON_DAYS,
    ) -> None:
        """`policy`: the programme rules in force (`placement_policy` of the settings)."""
        self.uow = uow
        self.policy = policy
        self.delivery_horizon_days = delivery_horizon_days
        self.orders = OrderRepository(uow.session)
        self.budgets = BudgetRepository(uow.session)
        self.stock = StockService(uow)
        self.directory = OrganizationDirectory(uow)
        self._buyer_time_zone = "Asia/Jakarta"

    async def _buyer(self, principal: Principal, data: OrderCreate) -> splitting.Buyer:
        principal.require_role(Role.BUYER)
        if principal.is_platform:
            raise PermissionDenied("The platform does not place orders; use a buyer's key.")
        # The principal carries the organization's kind; only its calendar is read.
        time_zone = await self.directory.time_zone_of(principal.organization_id)
        assert time_zone is not None
        self._buyer_time_zone = time_zone
        # Sources are ranked from where the goods go, not from the buyer's own address.
        return splitting.Buyer(
            organization_id=principal.organization_id,
            kind=principal.organization_kind.value,
            delivery_region_code=data.delivery.region_code,
        )

    async def read_order(self, data: OrderCreate) -> OrderInput:
        """The order's products (one query; unknown ones refused) and lines."""
        product_ids = sorted({line.product_id for line in data.lines})
        products = await self.stock.product_facts(product_ids)
        missing = [str(pid) for pid in product_ids if pid not in products]
        if missing:
            raise UnknownProduct("Some products are not in the catalogue.", product_ids=missing)
        return OrderInput(
            products=products,
            lines=[
                splitting.RequestedLine(
                    line_no=i,
                    product_id=line.product_id,
                    quantity=line.quantity,
                    listing_id=line.listing_id,
                )
                for i, line in enumerate(data.lines, start=1)
            ],
            rules=[
                splitting.ProductRule(
                    product_id=p.id,
                    programme=p.programme,
                    unit_net_grams=p.net_content if p.net_content_unit == "GRM" else None,
                    bulog_supplied=p.bulog_supplied,
                    price_caps=p.price_caps,
                )
                for p in products.values()
            ],
        )

    async def sphp_bought_today(
        self, buyer: splitting.Buyer, order: OrderInput, *, lock: bool
    ) -> int:
        """SPHP rice (grams) the buyer ordered earlier on its local day, in orders not
        cancelled; 0 without an SPHP line. The day is the one the order is placed on
        (the point of sale), in the buyer's time zone. With `lock`, a lock on (buyer,
        day) held to the end of the transaction comes first, so concurrent orders of
        one buyer count each other."""
        if buyer.kind not in self.policy.sphp_allowed_buyer_kinds or not splitting.asks_for_sphp(
            order.lines, order.rules
        ):
            return 0  # nothing to count (a buyer who may not order SPHP is refused anyway)
        zone = zoneinfo.ZoneInfo(self._buyer_time_zone)
        today = clock.today_in(self._buyer_time_zone)
        start = dt.datetime.combine(today, dt.time(), zone)
        end = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), zone)
        if lock:
            await self.orders.lock_buyer_day(buyer.organization_id, splitting.SPHP_PROGRAMME, today)
        return await self.orders.programme_grams_ordered(
            buyer.organization_id, splitting.SPHP_PROGRAMME, start, end
        )

    async def plan(
        self,
        principal: Principal,
        data: OrderCreate,
        buyer: splitting.Buyer,
        order: OrderInput,
        *,
        sphp_bought_today: int = 0,
        lock_contracts: bool = False,
    ) -> PricedPlan:
        """Split against current stock and price every leg. Reads only, except that with
        `lock_contracts` (placing) the trade-contract allotments it reads are locked."""
        products, requested, rules = order.products, order.lines, order.rules
        product_ids = sorted(products)
        candidates = await self._candidates(buyer, product_ids, requested, CANDIDATES_PER_PRODUCT)
        sources = candidates.sources

        def split(sources: list[splitting.Source]) -> splitting.SplitPlan:
            return splitting.split_order(
                requested,
                sources,
                buyer,
                self.policy,
                products=rules,
                sphp_grams_bought_today=sphp_bought_today,
            )

        raw = split(sources)
        pinned_lines = {line.line_no for line in requested if line.listing_id is not None}
        unsure = products_to_split_on_all(
            raw, candidates.cuts, candidates.rank_of_listing, pinned_lines
        )
        if unsure:
            # Rare: a product's plan reached its cut, so it is split again on all of its
            # candidates (one more statement); the others' legs stand.
            every = await self._candidates(buyer, sorted(unsure), requested, None)
            sources = [s for s in sources if s.product_id not in unsure] + every.sources
            candidates.vat_registered.update(every.vat_registered)
            candidates.unbranched_lots |= every.unbranched_lots
            raw = split(sources)
        if raw.shortfalls:
            # Trade contracts only take what listings can't fill, so they are read (and
            # the split redone with them) only when something is left unfilled: the
            # plan is the same as splitting with every source from the start.
            offers = await ContractCalloffs(self.uow).offers(
                product_ids,
                buyer.delivery_region_code,
                data.delivery.date,
                lock=lock_contracts,
            )
            sources += to_contract_sources(offers)
            raw = split(sources)
        if any(short.product_id in candidates.unbranched_lots for short in raw.shortfalls):
            raise NoBulogBranch("No Bulog branch exists to supply the Bulog lot listings.")
        # A consignment leg's VAT depends on its consignor's registration (read with the
        # candidates, no further query).
        vat_registered = candidates.vat_registered
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

    async def _candidates(
        self,
        buyer: splitting.Buyer,
        product_ids: list[uuid.UUID],
        requested: list[splitting.RequestedLine],
        per_product: int | None,
    ) -> Candidates:
        """The products' best candidates (all with `per_product` None) as split sources.
        Bulog lots need their cooperative's branch (`LotPooling.branches_for`), read only
        when lots are among them."""
        within, ranked = within_prefixes(buyer.delivery_region_code)
        if not ranked:
            per_product = None
        asked: dict[uuid.UUID, int] = {}
        for line in requested:
            asked[line.product_id] = asked.get(line.product_id, 0) + line.quantity
        rows = await self.stock.candidates(
            product_ids,
            [asked.get(product_id, 1) for product_id in product_ids],
            buyer_id=buyer.organization_id,
            within=within,
            pinned=[line.listing_id for line in requested if line.listing_id is not None],
            per_product=per_product,
        )
        candidates = candidate_sources(rows, product_ids, None, per_product)
        if candidates.lot_sellers:
            branches = await LotPooling(self.uow).branches_for(candidates.lot_sellers)
            candidates = candidate_sources(rows, product_ids, branches, per_product)
        return candidates

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
        buyer = await self._buyer(principal, data)
        await self._check_delivery_date(buyer, data.delivery.date)
        order = await self.read_order(data)
        bought = await self.sphp_bought_today(buyer, order, lock=False)
        plan = await self.plan(principal, data, buyer, order, sphp_bought_today=bought)
        return plan, await self.budget_check(buyer, data.delivery.date, lock=False)

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
        buyer = await self._buyer(principal, data)
        await self._check_delivery_date(buyer, data.delivery.date)
        order = await self.read_order(data)
        # The budget row lock serialises a kitchen's concurrent orders against its envelope,
        # the (buyer, day) lock a buyer's concurrent orders against the SPHP daily limit.
        budget = await self.budget_check(buyer, data.delivery.date, lock=True)
        bought = await self.sphp_bought_today(buyer, order, lock=True)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            plan = await self.plan(
                principal, data, buyer, order, sphp_bought_today=bought, lock_contracts=True
            )
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
            placed_by_person_id=principal.person_id,
            created_at=placed_at,
            updated_at=placed_at,
        )
        line_ids = new_ids(len(data.lines))
        lines = [
            PlacedLine(
                id=line_ids[i - 1],
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
        leg_ids = new_ids(len(plan.legs))
        legs = [
            PlacedLeg(
                id=leg_id,
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
            for leg_id, leg in zip(leg_ids, plan.legs, strict=True)
        ]
        placed = PlacedOrder(order=order, lines=lines, legs=legs)
        await self.orders.insert_placed(placed)
        # Procurement, same transaction: pool `bulog_lot` legs into open lots, and take
        # `trade_contract` legs' weekly volume (StockChanged → retried like stock).
        await LotPooling(self.uow).pool(legs)
        await ContractCalloffs(self.uow).call_off(legs, data.delivery.date)
        suppliers = sorted({leg.supplier_organization_id for leg in legs})
        event = OrderPlaced(
            order_id=order_id,
            buyer_organization_id=buyer_id,
            total=order.total,
            delivery_date=data.delivery.date,
        )
        await outbox.emit_many(self.uow, event, organization_ids=[buyer_id, *suppliers])
        return placed
