"""Pooling `bulog_lot` legs into Bulog purchase lots: the API orders uses (`LotPooling`).

Placing an order pools its `bulog_lot` legs into the open lot of their (cooperative,
product, Bulog branch), opening one at the Bulog listing's price for a lot and with a cut-off
in the cooperative's time zone when there is none. Lock order: listings before lots, as
placement takes them (stock reserved, then pooled); receiving (`lots/service.py`) keeps it.

Cancelling an order withdraws its demand lines (`LotPooling.withdraw`): an open lot's demand
drops; a closed lot still buys the units, which become surplus on receipt; units a received
lot had released to the leg are unreserved and move, like a surplus, to the cooperative's own
`stock` listing (out of the Bulog listing with an `adjust`, into its own with a `receive`,
both logged). A Bulog listing is never offered as stock — it stands for "pool into a lot" —
so it only ever holds units reserved for waiting legs; units left there unreserved would sit
in the warehouse unsold while the next order pooled a new lot.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Protocol

from marketplace import clock
from marketplace.accounts import OrganizationDirectory, OrganizationKind, Principal
from marketplace.db import UnitOfWork
from marketplace.ids import new_id
from marketplace.listings import ProductService, StockChanged, StockService
from marketplace.listings.domain import unit_price_for
from marketplace.procurement.lots.domain import BULOG_LOT_KIND, LotStatus
from marketplace.procurement.lots.domain.terms import choose_branch, cutoff_after, lot_terms
from marketplace.procurement.lots.models import BulogDemandLine, BulogLot
from marketplace.procurement.lots.own_stock import OwnStock
from marketplace.procurement.lots.repository import LotKeyRow, LotRepository


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


def _now() -> dt.datetime:
    return clock.now()


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


def _key(lot: BulogLot) -> LotKeyRow:
    return LotKeyRow(lot.cooperative_organization_id, lot.product_id, lot.bulog_organization_id)


__all__ = ["LegLike", "LotPooling"]
