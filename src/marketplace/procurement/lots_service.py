"""Bulog purchase lots: pooling `bulog_lot` legs, closing lots into purchase orders,
receiving them and releasing the goods to the waiting legs.

Where the goods go (so a leg never moves stock twice): on receipt, what the allocation
releases to legs is received into the cooperative's `bulog_lot` listing (`on_hand`) and
reserved there at once; shipping a released leg then moves exactly its released quantity
out of that listing (`orders.service.ship`), like a stock leg. The rounding surplus and
anything received beyond the demand become the cooperative's own stock on its `stock`
listing of the product (opened at the Bulog listing's prices if it has none).

A leg that a short receipt released only in part ships what it got; the buyer's goods
receipt then records the short delivery and the order is credited as for any short leg.
A leg that got nothing is reported as unfilled and keeps waiting (`orders.leg_waits_for_lot`).

Cancelling an order withdraws its demand lines (`LotPooling.withdraw`): an open lot's demand
drops; a closed lot still buys the units, which become surplus on receipt; units a received
lot had released to the leg are unreserved and move, like a surplus, to the cooperative's own
`stock` listing (out of the Bulog listing with an `adjust`, into its own with a `receive`,
both logged). A Bulog listing is never offered as stock — it stands for "pool into a lot" —
so it only ever holds units reserved for waiting legs; units left there unreserved would sit
in the warehouse unsold while the next order pooled a new lot.

Lock order: listings before lots, as placement takes them (stock reserved, then pooled), so
a receipt moves stock first and locks its lot last.
"""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Protocol

import msgspec

from marketplace import clock
from marketplace.accounts import OrganizationDirectory, OrganizationKind, Principal, Role
from marketplace.db import UnitOfWork
from marketplace.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from marketplace.ids import new_id
from marketplace.listings.domain import MovementKind
from marketplace.listings.domain.pricing import unit_price_for
from marketplace.listings.service import ListingService, ProductService
from marketplace.listings.stock_service import StockChanged, StockService
from marketplace.procurement import lot_events
from marketplace.procurement.domain import aggregation
from marketplace.procurement.domain.errors import ReceiptExceedsOrder
from marketplace.procurement.domain.states import BulogOrderStatus, LotCloseReason, LotStatus
from marketplace.procurement.models import BulogDemandLine, BulogLot, BulogPurchaseOrder
from marketplace.procurement.own_stock import OwnStock
from marketplace.procurement.repository import LotKeyRow, LotRepository

BULOG_LOT_KIND = "bulog_lot"
LOT_UNIT_GRAMS = 1_000_000
"""Bulog sells in whole tonnes (configurable per deployment)."""
LOT_UNIT_MILLILITRES = 12_000
"""Cooking oil in cartons of 12 L."""
LOT_UNITS_PER_LOT = 2
"""A lot closes early when it reaches the weekly quota, about 2 t per cooperative."""
CUTOFF_HOUR = 12
MIN_POOLING = dt.timedelta(hours=24)
"""A lot pools for at least a day and closes at the next noon (cooperative's time) after."""
DUE_BATCH = 200


class NoBulogBranch(ValidationFailed):
    code = "procurement.no_bulog_branch"
    title = "No Bulog branch can supply this cooperative"


class LotNotOpen(Conflict):
    code = "procurement.lot_not_open"
    title = "The lot is no longer open"


class LotEmpty(Conflict):
    code = "procurement.lot_empty"
    title = "The lot has no demand to order"


class LotNotAwaitingDelivery(Conflict):
    code = "procurement.lot_not_awaiting_delivery"
    title = "Only a closed lot, not yet received, can be received"


class LotChanged(Conflict):
    code = "procurement.lot_changed"
    title = "The lot changed while the request ran; retry"


class LegLike(Protocol):
    """What pooling needs of an order leg (the orders context's `OrderLeg` fits)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def order_id(self) -> uuid.UUID: ...
    @property
    def kind(self) -> str: ...
    @property
    def listing_id(self) -> uuid.UUID | None: ...
    @property
    def product_id(self) -> uuid.UUID: ...
    @property
    def supplier_organization_id(self) -> uuid.UUID: ...
    @property
    def owner_organization_id(self) -> uuid.UUID: ...
    @property
    def buyer_organization_id(self) -> uuid.UUID: ...
    @property
    def quantity(self) -> int: ...


class LotView(msgspec.Struct, frozen=True, kw_only=True):
    lot: BulogLot
    lines: list[BulogDemandLine]
    purchase_order: BulogPurchaseOrder | None


class ReceiptResult(msgspec.Struct, frozen=True, kw_only=True):
    view: LotView
    allocation: aggregation.ReceiptAllocation
    surplus_listing_id: uuid.UUID | None


# --- pure helpers --------------------------------------------------------------------


def choose_branch(region_code: str, branches: Iterable[tuple[uuid.UUID, str]]) -> uuid.UUID | None:
    """The Bulog branch for a cooperative: one in its province, the one sharing the longest
    region prefix first; else any branch. Ties go to the lowest id, so it is deterministic."""
    ours = region_code.split(".")
    best: tuple[int, int, uuid.UUID] | None = None
    for branch_id, branch_region in branches:
        theirs = branch_region.split(".")
        shared = 0
        for a, b in zip(ours, theirs, strict=False):
            if a != b:
                break
            shared += 1
        key = (-shared, branch_id.int, branch_id)
        if best is None or key[:2] < best[:2]:
            best = key
    return None if best is None else best[2]


def lot_terms(net_content: int, net_content_unit: str) -> tuple[int, int]:
    """(lot unit, lot size) in sale units for a product: whole tonnes (or 12 L cartons),
    rounded up to whole sale units; a lot closes early at `LOT_UNITS_PER_LOT` lot units."""
    base = {"GRM": LOT_UNIT_GRAMS, "MLT": LOT_UNIT_MILLILITRES}.get(net_content_unit)
    lot_unit = 1 if base is None or net_content <= 0 else max(1, -(-base // net_content))
    return lot_unit, lot_unit * LOT_UNITS_PER_LOT


def cutoff_after(now: dt.datetime, time_zone: str) -> dt.datetime:
    """The first `CUTOFF_HOUR`:00 local time at least `MIN_POOLING` after `now`."""
    zone = zoneinfo.ZoneInfo(time_zone)
    earliest = (now + MIN_POOLING).astimezone(zone)
    cutoff = earliest.replace(hour=CUTOFF_HOUR, minute=0, second=0, microsecond=0)
    if cutoff < earliest:
        cutoff += dt.timedelta(days=1)
    return cutoff.astimezone(dt.UTC)


def _now() -> dt.datetime:
    return clock.now()


# --- use cases -------------------------------------------------------------------------


class LotPooling:
    """The public API orders uses: resolve Bulog branches, pool legs, ask about release."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.lots = LotRepository(uow.session)
        self.directory = OrganizationDirectory(uow)

    async def branches_for(
        self, cooperative_ids: Iterable[uuid.UUID]
    ) -> dict[uuid.UUID, uuid.UUID]:
        """Cooperative → its Bulog branch; cooperatives with none are left out."""
        wanted = sorted(set(cooperative_ids))
        if not wanted:
            return {}
        branches = [
            (b.id, b.region_code) for b in await self.directory.of_kind(OrganizationKind.BULOG)
        ]
        if not branches:
            return {}
        cooperatives = await self.directory.get_many(wanted)
        chosen: dict[uuid.UUID, uuid.UUID] = {}
        for cooperative_id, record in cooperatives.items():
            branch = choose_branch(record.region_code, branches)
            if branch is not None:
                chosen[cooperative_id] = branch
        return chosen

    async def pool(self, legs: Sequence[LegLike], *, ordered_at: dt.datetime | None = None) -> None:
        """Add the `bulog_lot` legs among `legs` to their open lots (opening lots as
        needed), in the caller's transaction. Lots are locked in id order; raises
        `StockChanged` (the placement retries) if a lot closed under it."""
        pooled = [leg for leg in legs if leg.kind == BULOG_LOT_KIND]
        if not pooled:
            return
        ordered_at = ordered_at or _now()
        keys = sorted(
            {
                LotKeyRow(leg.supplier_organization_id, leg.product_id, leg.owner_organization_id)
                for leg in pooled
            }
        )
        open_lots = {_key(lot): lot for lot in await self.lots.lock_open_lots(keys)}
        missing = [key for key in keys if key not in open_lots]
        if missing:
            listing_of = {
                LotKeyRow(
                    leg.supplier_organization_id, leg.product_id, leg.owner_organization_id
                ): (leg.listing_id)
                for leg in pooled
            }
            await self.lots.open_missing_lots(await self._new_lots(missing, listing_of))
            open_lots = {_key(lot): lot for lot in await self.lots.lock_open_lots(keys)}
            if len(open_lots) != len(keys):
                raise StockChanged("A Bulog lot closed while the order was placed; retry.")
        totals: dict[uuid.UUID, int] = defaultdict(int)
        lines = []
        for leg in pooled:
            lot = open_lots[
                LotKeyRow(leg.supplier_organization_id, leg.product_id, leg.owner_organization_id)
            ]
            totals[lot.id] += leg.quantity
            lines.append(
                BulogDemandLine(
                    id=new_id(),
                    lot_id=lot.id,
                    leg_id=leg.id,
                    order_id=leg.order_id,
                    buyer_organization_id=leg.buyer_organization_id,
                    ordered_at=ordered_at,
                    quantity=leg.quantity,
                )
            )
        self.lots.add_all(lines)
        await self.lots.add_demand(sorted(totals.items()))
        await self.lots.flush()

    async def _new_lots(
        self, keys: Sequence[LotKeyRow], listing_of: dict[LotKeyRow, uuid.UUID | None]
    ) -> list[dict[str, object]]:
        products = await ProductService(self.uow).products.get_many(
            sorted({k.product_id for k in keys})
        )
        cooperatives = await self.directory.get_many(sorted({k.cooperative_id for k in keys}))
        sources = {
            s.listing_id: s
            for s in await StockService(self.uow).sources(sorted({k.product_id for k in keys}))
        }
        now = _now()
        rows: list[dict[str, object]] = []
        for key in keys:
            listing_id = listing_of[key]
            product = products[key.product_id]
            source = sources.get(listing_id) if listing_id else None
            if listing_id is None or source is None:
                raise StockChanged("The Bulog listing changed while the order was placed.")
            lot_unit, lot_size = lot_terms(product.net_content, product.net_content_unit)
            rows.append(
                {
                    "id": new_id(),
                    "cooperative_organization_id": key.cooperative_id,
                    "product_id": key.product_id,
                    "bulog_organization_id": key.bulog_id,
                    "listing_id": listing_id,
                    "status": LotStatus.OPEN,
                    "lot_unit": lot_unit,
                    "lot_size": lot_size,
                    "unit_price": unit_price_for(source.tiers, lot_size),
                    "cutoff_at": cutoff_after(now, cooperatives[key.cooperative_id].time_zone),
                    "total_demand": 0,
                }
            )
        return rows

    async def withdraw(
        self, legs: Sequence[LegLike], *, principal: Principal | None = None
    ) -> None:
        """The orders of these legs were cancelled: their demand no longer counts. An open
        lot's demand drops; a closed lot still buys the units (they become surplus on
        receipt); units a received lot had released and reserved are unreserved."""
        pooled = [leg.id for leg in legs if leg.kind == BULOG_LOT_KIND]
        found = await self.lots.lines_of_legs(pooled)
        if not found:
            return
        now = _now()
        unreserve: list[tuple[uuid.UUID, int]] = []
        freed: dict[uuid.UUID, int] = defaultdict(int)
        lots = {lot.id: lot for _, lot in found}
        for line, lot in found:
            if line.withdrawn_at is not None:
                continue
            line.withdrawn_at = now
            if lot.status == LotStatus.OPEN:
                lot.total_demand -= line.quantity
            elif lot.status == LotStatus.RECEIVED and line.released_quantity:
                unreserve.append((lot.listing_id, line.released_quantity))
                freed[lot.id] += line.released_quantity
        await self.lots.flush()
        if unreserve:
            await StockService(self.uow).release(
                unreserve, reference="bulog_lot:withdrawn", principal=principal
            )
        # The unreserved units are in the warehouse: they become sellable stock at once.
        # Releasing locked the Bulog listing, which serialises creating the own listing.
        own_stock = OwnStock(self.uow)
        for lot_id, quantity in sorted(freed.items()):
            await own_stock.take_from_bulog_listing(
                lots[lot_id], quantity, principal, f"bulog_lot:{lot_id}"
            )

    async def released_quantity(self, leg_id: uuid.UUID) -> int:
        """Units the received lot released to this leg (0 while it waits)."""
        return await self.lots.released_quantity(leg_id) or 0


class LotService:
    """Reading, closing and receiving lots (API and worker)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.lots = LotRepository(uow.session)

    # --- reading -------------------------------------------------------------------

    async def _view(self, lot: BulogLot) -> LotView:
        return LotView(
            lot=lot,
            lines=await self.lots.demand_lines(lot.id),
            purchase_order=await self.lots.purchase_order(lot.id),
        )

    async def get(self, principal: Principal, lot_id: uuid.UUID) -> LotView:
        lot = await self.lots.get(lot_id)
        if lot is None or not principal.is_party(
            lot.cooperative_organization_id, lot.bulog_organization_id
        ):
            raise NotFound("No such Bulog lot.")
        return await self._view(lot)

    async def page(
        self, principal: Principal, *, status: str | None, after: uuid.UUID | None, limit: int
    ) -> list[BulogLot]:
        return await self.lots.page(
            scope=principal.scope,
            status=status,
            after=after,
            limit=limit,
        )

    # --- closing --------------------------------------------------------------------

    async def _managed(
        self, principal: Principal, lot_id: uuid.UUID, *, lock: bool = True
    ) -> BulogLot:
        """The lot (locked unless asked not to) if the caller is its cooperative."""
        lot = await self.lots.get(lot_id, for_update=lock)
        if lot is None or not principal.is_party(
            lot.cooperative_organization_id, lot.bulog_organization_id
        ):
            raise NotFound("No such Bulog lot.")
        if not principal.is_party(lot.cooperative_organization_id):
            raise PermissionDenied("Only the lot's cooperative may do this.")
        principal.require_role(Role.SELLER)
        return lot

    async def submit(self, principal: Principal, lot_id: uuid.UUID) -> LotView:
        """Close an open lot before its cut-off."""
        lot = await self._managed(principal, lot_id)
        if lot.status != LotStatus.OPEN:
            raise LotNotOpen("The lot was already closed.", status=lot.status)
        if lot.total_demand == 0:
            raise LotEmpty("The lot has no demand yet.")
        await self._close(lot, LotCloseReason.SUBMITTED, _now())
        return await self._view(lot)

    async def close_due(self, now: dt.datetime | None = None) -> int:
        """Close every open lot past its cut-off or full (worker cron). Each lot is
        re-checked under its row lock, so runs on several workers never close one twice."""
        now = now or _now()
        closed = 0
        for lot_id in await self.lots.due_lot_ids(now, DUE_BATCH):
            lot = await self.lots.get(lot_id, for_update=True)
            if lot is None or lot.status != LotStatus.OPEN:
                continue
            full = lot.total_demand >= lot.lot_size
            if not aggregation.should_close(lot.total_demand, lot.lot_size, lot.cutoff_at, now):
                continue
            await self._close(lot, LotCloseReason.FULL if full else LotCloseReason.CUTOFF, now)
            closed += 1
        return closed

    async def _close(self, lot: BulogLot, reason: LotCloseReason, now: dt.datetime) -> None:
        order = aggregation.lot_order_quantity(lot.total_demand, lot.lot_unit)
        lot.closed_at = now
        lot.close_reason = reason
        lot.order_quantity = order.order_quantity
        lot.surplus = order.surplus
        if order.order_quantity == 0:
            lot.status = LotStatus.CANCELLED  # nothing to buy
            await self.lots.flush()
            lot_events.closed(self.uow, lot)
            return
        lot.status = LotStatus.CLOSED
        po = BulogPurchaseOrder(
            id=new_id(),
            lot_id=lot.id,
            bulog_organization_id=lot.bulog_organization_id,
            cooperative_organization_id=lot.cooperative_organization_id,
            product_id=lot.product_id,
            quantity=order.order_quantity,
            unit_price=lot.unit_price,
            total=order.order_quantity * lot.unit_price,
            status=BulogOrderStatus.SENT,
        )
        self.lots.add_all([po])
        await self.lots.flush()
        lot_events.closed(self.uow, lot)
        lot_events.submitted(self.uow, lot, po)

    # --- receiving -----------------------------------------------------------------

    async def receive(
        self, principal: Principal, lot_id: uuid.UUID, received: int, note: str | None
    ) -> ReceiptResult:
        """Listings are locked before the lot, the order placement takes them in (stock
        reserved, then the lot pooled into), so the two never deadlock: the stock moves are
        made first, then the lot is locked and checked unchanged before it is marked."""
        lot = await self._managed(principal, lot_id, lock=False)
        serialized = await self.lots.serialize_receipts(lot.id)
        assert serialized is not None
        lot = serialized
        if lot.status != LotStatus.CLOSED:
            raise LotNotAwaitingDelivery(
                "Only a closed lot awaiting delivery can be received.", status=lot.status
            )
        assert lot.order_quantity is not None
        if received > lot.order_quantity:
            raise ReceiptExceedsOrder(
                f"Received {received} but the lot ordered {lot.order_quantity}.",
                ordered=lot.order_quantity,
                received=received,
            )
        lines = await self.lots.demand_lines(lot.id)
        waiting = _waiting(lines)  # a snapshot: re-reading refreshes the same objects
        allocation = aggregation.allocate_receipt(
            [
                aggregation.DemandLine(
                    leg_id=line.leg_id,
                    order_id=line.order_id,
                    ordered_at=line.ordered_at,
                    quantity=line.quantity,
                )
                for line in lines
                if line.withdrawn_at is None
            ],
            received,
        )
        reference = f"bulog_lot:{lot.id}"
        listings = ListingService(self.uow)
        if allocation.released_total:
            listing, _ = await listings.get(principal, lot.listing_id)
            await listings.move(
                listing,
                MovementKind.RECEIVE,
                allocation.released_total,
                principal,
                "Bulog lot received",
                reference,
            )
            await StockService(self.uow).reserve(
                [(lot.listing_id, allocation.released_total)],
                reference=reference,
                principal=principal,
            )
        surplus_listing_id = None
        if allocation.surplus:
            surplus_listing_id = await self._receive_surplus(
                principal, lot, allocation.surplus, reference
            )
        locked = await self.lots.get(lot.id, for_update=True)
        assert locked is not None
        fresh = await self.lots.demand_lines(lot.id)
        if locked.status != LotStatus.CLOSED:
            raise LotNotAwaitingDelivery(
                "Only a closed lot awaiting delivery can be received.", status=locked.status
            )
        if _waiting(fresh) != waiting:
            raise LotChanged("An order in the lot was cancelled meanwhile; try again.")
        await self.lots.record_releases(
            [(r.leg_id, r.released, r.unfilled) for r in allocation.releases]
        )
        lot.status = LotStatus.RECEIVED
        lot.received_quantity = received
        lot.received_at = _now()
        lot.receipt_note = note
        po = await self.lots.purchase_order(lot.id)
        if po is not None:
            po.status = BulogOrderStatus.RECEIVED
        await self.lots.flush()
        lot_events.received(self.uow, lot, po, allocation)
        return ReceiptResult(
            view=LotView(lot=lot, lines=await self.lots.demand_lines(lot.id), purchase_order=po),
            allocation=allocation,
            surplus_listing_id=surplus_listing_id,
        )

    async def _receive_surplus(
        self, principal: Principal, lot: BulogLot, quantity: int, reference: str
    ) -> uuid.UUID:
        """The surplus becomes the cooperative's own stock on its `stock` listing."""
        return await OwnStock(self.uow).receive(
            lot, quantity, principal, "Bulog lot surplus", reference
        )


def _waiting(lines: Sequence[BulogDemandLine]) -> list[uuid.UUID]:
    return [line.leg_id for line in lines if line.withdrawn_at is None]


def _key(lot: BulogLot) -> LotKeyRow:
    return LotKeyRow(lot.cooperative_organization_id, lot.product_id, lot.bulog_organization_id)


__all__ = [
    "LegLike",
    "LotEmpty",
    "LotNotAwaitingDelivery",
    "LotNotOpen",
    "LotPooling",
    "LotService",
    "LotStatus",
    "LotView",
    "NoBulogBranch",
    "ReceiptExceedsOrder",
    "ReceiptResult",
]
