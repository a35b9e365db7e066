"""Inter-city trade contracts: signing and allotment, reading, shortfalls, direct shipments.

Weekly volume. A contract's `weekly_volume` is allotted across its supplying cooperatives
(`allotment.allot`); each allotment's weekly quantity is what it may give per ISO week.
Orders call it off (`contracts/calloffs.py`); a direct shipment recorded by a supplier takes
volume the same way, with the same conditional UPDATE, so called-off volume never exceeds an
allotment.

Levy. Each call-off leg carries its levy (`levy_bps` of the leg's subtotal, computed by the
split). The levy is posted to the ledger when the goods leave — when the supplier ships the
leg (`ContractCalloffs.shipped`, called from `orders.service.ship`) or records a direct
shipment — as `postings.levy` with reference ``levy:<leg id>`` or ``levy:<shipment id>``:
the supplier's payable is debited, the trade center's levy payable credited. Posting at
shipment rather than at the buyer's receipt keeps the levy with the contract's weekly
shipped figures; a cancelled call-off never shipped, so never carries a posted levy.

Days. A contract's period and weeks are its trade center's calendar: "today" (a shipment
recorded without `shipped_on`, the current week of a shortfall) is the trade center's local
date (`OrganizationDirectory.today_of`), never UTC's.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid

import msgspec

from marketplace.accounts import OrganizationDirectory, OrganizationKind, Principal, Role
from marketplace.db import UnitOfWork
from marketplace.errors import NotFound, PermissionDenied
from marketplace.ids import new_id
from marketplace.ledger import LedgerService, postings
from marketplace.listings import ProductService
from marketplace.money import apply_basis_points
from marketplace.procurement.contracts import events as contract_events
from marketplace.procurement.contracts.domain import (
    InvalidCounterparty,
    InvalidPeriod,
    InvalidSupplier,
    ShortfallAlreadyCalledOff,
    VolumeExhausted,
    allotment,
)
from marketplace.procurement.contracts.domain.weeks import iso_week, week_start
from marketplace.procurement.contracts.models import TradeAllotment, TradeContract, TradeShipment
from marketplace.procurement.contracts.repository import ContractRepository
from marketplace.procurement.contracts.schemas import (
    ShipmentCreate,
    ShortfallCreate,
    TradeContractCreate,
)
from marketplace.procurement.domain.errors import UnknownProduct

MAX_WEEKS_SHOWN = 260
CITY_CODE = re.compile(r"^\d{2}\.\d{2}$")
COUNTERPARTY_KINDS = (OrganizationKind.GOVERNMENT, OrganizationKind.TRADE_CENTER)


class WeekFigures(msgspec.Struct, frozen=True, kw_only=True):
    week_start: dt.date
    iso_week: str
    volume: int
    allotted: int
    called_off: int
    shipped: int
    shipped_amount: int
    levy: int


class ContractView(msgspec.Struct, frozen=True, kw_only=True):
    contract: TradeContract
    allotments: list[TradeAllotment]
    weeks: list[WeekFigures]


class ShortfallResult(msgspec.Struct, frozen=True, kw_only=True):
    view: ContractView
    unplaced: int


class ContractService:
    """Trade-contract use cases of the API."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.contracts = ContractRepository(uow.session)
        self.directory = OrganizationDirectory(uow)

    # --- creating ------------------------------------------------------------------

    async def create(self, principal: Principal, data: TradeContractCreate) -> ContractView:
        if (
            principal.is_platform
            or principal.organization_kind is not OrganizationKind.TRADE_CENTER
        ):
            raise PermissionDenied("Only a trade center signs trade contracts.")
        principal.require_role(Role.ADMIN)
        if data.end_date < data.start_date:
            raise InvalidPeriod(
                "The period ends before it starts.",
                start_date=data.start_date,
                end_date=data.end_date,
            )
        if await ProductService(self.uow).products.get(data.product_id) is None:
            raise UnknownProduct("No such product.", product_id=str(data.product_id))
        supplier_ids = [s.organization_id for s in data.suppliers]
        orgs = await self.directory.get_many(
            sorted({data.counterparty_organization_id, *supplier_ids})
        )
        counterparty = orgs.get(data.counterparty_organization_id)
        if counterparty is None or counterparty.kind not in COUNTERPARTY_KINDS:
            raise InvalidCounterparty(
                "The counterparty must be a city government or trade office.",
                counterparty_organization_id=str(data.counterparty_organization_id),
            )
        city_code = data.counterparty_city_code or ".".join(counterparty.region_code.split(".")[:2])
        if not CITY_CODE.match(city_code) or not (
            counterparty.region_code == city_code
            or counterparty.region_code.startswith(city_code + ".")
        ):
            raise InvalidCounterparty(
                "The city code must be the counterparty's city (province.city).",
                counterparty_city_code=city_code,
                counterparty_region_code=counterparty.region_code,
            )
        for supplier_id in supplier_ids:
            record = orgs.get(supplier_id)
            if record is None or record.kind is not OrganizationKind.COOPERATIVE:
                raise InvalidSupplier(
                    "Every supplier must be a cooperative.", organization_id=str(supplier_id)
                )
        capacities = [
            allotment.SupplierCapacity(supplier_id=s.organization_id, capacity=s.weekly_capacity)
            for s in data.suppliers
        ]
        shares = allotment.allot(data.weekly_volume, capacities)  # validates capacities
        contract = TradeContract(
            id=new_id(),
            trade_center_organization_id=principal.organization_id,
            counterparty_organization_id=counterparty.id,
            counterparty_city_code=city_code,
            product_id=data.product_id,
            weekly_volume=data.weekly_volume,
            unit_price=data.unit_price,
            levy_bps=data.levy_bps,
            start_date=data.start_date,
            end_date=data.end_date,
            status="active",
            unplaced=0,
        )
        allotments = [
            TradeAllotment(
                id=new_id(),
                contract_id=contract.id,
                supplier_organization_id=share.supplier_id,
                position=i,
                declared_capacity=capacity.capacity,
                capacity=capacity.capacity,
                quantity=share.quantity,
            )
            for i, (share, capacity) in enumerate(zip(shares, capacities, strict=True))
        ]
        self.contracts.add_all([contract])
        await self.contracts.flush()
        self.contracts.add_all(allotments)
        await self.contracts.flush()
        contract_events.signed(self.uow, contract, allotments)
        return await self._view(contract)

    # --- reading -------------------------------------------------------------------

    async def _visible(self, principal: Principal, contract_id: uuid.UUID) -> TradeContract:
        contract = await self.contracts.get(contract_id)
        if contract is None:
            raise NotFound("No such trade contract.")
        if principal.is_party(
            contract.trade_center_organization_id, contract.counterparty_organization_id
        ):
            return contract
        suppliers = {
            a.supplier_organization_id for a in await self.contracts.allotments(contract.id)
        }
        if principal.organization_id not in suppliers:
            raise NotFound("No such trade contract.")
        return contract

    async def page(
        self, principal: Principal, *, after: uuid.UUID | None, limit: int
    ) -> list[TradeContract]:
        return await self.contracts.page(
            scope=principal.scope,
            after=after,
            limit=limit,
        )

    async def ensure_visible(self, principal: Principal, contract_id: uuid.UUID) -> None:
        """404 unless the caller is a party to the contract."""
        await self._visible(principal, contract_id)

    async def get(self, principal: Principal, contract_id: uuid.UUID) -> ContractView:
        return await self._view(await self._visible(principal, contract_id))

    async def _view(self, contract: TradeContract) -> ContractView:
        allotments = await self.contracts.allotments(contract.id)
        allotted = sum(a.quantity for a in allotments)
        usage = {w.week_start: w for w in await self.contracts.weeks(contract.id)}
        money = await self.contracts.levy_by_week(contract.id)
        weeks: list[WeekFigures] = []
        monday = week_start(contract.start_date)
        while monday <= contract.end_date and len(weeks) < MAX_WEEKS_SHOWN:
            row = usage.get(monday)
            amount, levy = money.get(monday, (0, 0))
            weeks.append(
                WeekFigures(
                    week_start=monday,
                    iso_week=iso_week(monday),
                    volume=contract.weekly_volume,
                    allotted=allotted,
                    called_off=row.called_off if row else 0,
                    shipped=row.shipped if row else 0,
                    shipped_amount=amount,
                    levy=levy,
                )
            )
            monday += dt.timedelta(days=7)
        return ContractView(contract=contract, allotments=allotments, weeks=weeks)

    # --- changing ------------------------------------------------------------------

    async def _today(self, contract: TradeContract) -> dt.date:
        """Today in the contract's calendar: its trade center's local date."""
        return await self.directory.today_of(contract.trade_center_organization_id)

    async def _locked_for_party(
        self, principal: Principal, contract_id: uuid.UUID, allotment_id: uuid.UUID
    ) -> tuple[TradeContract, list[TradeAllotment], TradeAllotment]:
        """The contract and its allotments, locked, if the caller is the trade center or
        the allotment's supplier; anyone else gets 404."""
        await self._visible(principal, contract_id)
        contract = await self.contracts.lock_contract(contract_id)
        assert contract is not None
        allotments = await self.contracts.allotments(contract_id, for_update=True)
        target = next((a for a in allotments if a.id == allotment_id), None)
        if target is None or not principal.is_party(
            contract.trade_center_organization_id, target.supplier_organization_id
        ):
            raise NotFound("No such allotment.")
        principal.require_role(Role.SELLER)
        return contract, allotments, target

    async def shortfall(
        self,
        principal: Principal,
        contract_id: uuid.UUID,
        allotment_id: uuid.UUID,
        data: ShortfallCreate,
    ) -> ShortfallResult:
        contract, allotments, short = await self._locked_for_party(
            principal, contract_id, allotment_id
        )
        result = allotment.reallot_shortfall(
            [
                allotment.Allotment(supplier_id=a.supplier_organization_id, quantity=a.quantity)
                for a in allotments
            ],
            [
                allotment.SupplierCapacity(
                    supplier_id=a.supplier_organization_id, capacity=a.capacity
                )
                for a in allotments
            ],
            short.supplier_organization_id,
            data.quantity,
        )
        new_quantity = {a.supplier_id: a.quantity for a in result.allotments}
        new_capacity = {c.supplier_id: c.capacity for c in result.capacities}
        today = await self._today(contract)
        called_off = await self.contracts.most_called_off_since(short.id, week_start(today))
        if new_quantity[short.supplier_organization_id] < called_off:
            raise ShortfallAlreadyCalledOff(
                f"{called_off} units are already called off from this allotment in a week.",
                called_off=called_off,
                allotment_after=new_quantity[short.supplier_organization_id],
            )
        for a in allotments:
            a.quantity = new_quantity[a.supplier_organization_id]
            a.capacity = new_capacity[a.supplier_organization_id]
        contract.unplaced += result.unplaced
        await self.contracts.flush()
        contract_events.reallotted(
            self.uow, contract, allotments, short, data.quantity, result.unplaced
        )
        return ShortfallResult(view=await self._view(contract), unplaced=result.unplaced)

    async def record_shipment(
        self, principal: Principal, contract_id: uuid.UUID, data: ShipmentCreate
    ) -> tuple[TradeShipment, ContractView]:
        """A direct delivery under the contract: takes weekly volume like a call-off and
        carries its levy, posted at once."""
        contract, _, target = await self._locked_for_party(
            principal, contract_id, data.allotment_id
        )
        day = data.shipped_on or await self._today(contract)
        if not contract.start_date <= day <= contract.end_date:
            raise InvalidPeriod(
                "The shipment falls outside the contract period.",
                shipped_on=day,
                start_date=contract.start_date,
                end_date=contract.end_date,
            )
        week = week_start(day)
        if not await self.contracts.call_off([(target.id, week, data.quantity)]):
            raise VolumeExhausted(
                "The allotment has not that much weekly volume left.",
                allotment=target.quantity,
                quantity=data.quantity,
                week=iso_week(week),
            )
        shipped = await self.contracts.add_shipped(target.id, week, data.quantity)
        assert shipped
        amount = data.quantity * contract.unit_price
        levy = apply_basis_points(amount, contract.levy_bps)
        shipment = TradeShipment(
            id=new_id(),
            contract_id=contract.id,
            allotment_id=target.id,
            week_start=week,
            quantity=data.quantity,
            amount=amount,
            levy_amount=levy,
            order_leg_id=None,
            reference=data.reference,
        )
        self.contracts.add_all([shipment])
        await self.contracts.flush()
        if levy > 0:
            await LedgerService(self.uow).post(
                postings.levy(
                    shipment.id,
                    contract.trade_center_organization_id,
                    target.supplier_organization_id,
                    levy,
                )
            )
        contract_events.shipment_recorded(
            self.uow, contract, target.supplier_organization_id, shipment
        )
        return shipment, await self._view(contract)


__all__ = ["ContractService", "ContractView", "ShortfallResult", "WeekFigures"]
