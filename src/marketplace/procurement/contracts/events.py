"""Trade-contract events for partners (`contracts.domain.events`), emitted in the
transaction of the change: what each party's system needs to follow a contract."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from marketplace import outbox
from marketplace.db import UnitOfWork
from marketplace.events import Event
from marketplace.procurement.contracts.domain.events import (
    Allotment,
    TradeContractReallotted,
    TradeContractShipmentRecorded,
    TradeContractSigned,
)
from marketplace.procurement.contracts.models import TradeAllotment, TradeContract, TradeShipment


def _allotments(allotments: Sequence[TradeAllotment]) -> list[Allotment]:
    return [
        Allotment(
            allotment_id=a.id,
            supplier_organization_id=a.supplier_organization_id,
            weekly_quantity=a.quantity,
        )
        for a in sorted(allotments, key=lambda a: a.position)
    ]


def signed(uow: UnitOfWork, contract: TradeContract, allotments: Sequence[TradeAllotment]) -> None:
    event = TradeContractSigned(
        contract_id=contract.id,
        trade_center_organization_id=contract.trade_center_organization_id,
        counterparty_organization_id=contract.counterparty_organization_id,
        counterparty_city_code=contract.counterparty_city_code,
        product_id=contract.product_id,
        weekly_volume=contract.weekly_volume,
        unit_price=contract.unit_price,
        levy_bps=contract.levy_bps,
        start_date=contract.start_date,
        end_date=contract.end_date,
        allotments=_allotments(allotments),
    )
    _to_parties(uow, event, contract, allotments)


def reallotted(
    uow: UnitOfWork,
    contract: TradeContract,
    allotments: Sequence[TradeAllotment],
    short: TradeAllotment,
    shortfall: int,
    unplaced: int,
) -> None:
    """A supplier's shortfall went down the list: every allotment as it now stands."""
    event = TradeContractReallotted(
        contract_id=contract.id,
        trade_center_organization_id=contract.trade_center_organization_id,
        allotment_id=short.id,
        supplier_organization_id=short.supplier_organization_id,
        shortfall=shortfall,
        unplaced=unplaced,
        contract_unplaced=contract.unplaced,
        allotments=_allotments(allotments),
    )
    _to_parties(uow, event, contract, allotments)


def _to_parties(
    uow: UnitOfWork,
    event: Event,
    contract: TradeContract,
    allotments: Sequence[TradeAllotment],
) -> None:
    """The contract's change to each party: the trade center, the counterparty city and
    every supplying cooperative (each may read the whole contract)."""
    parties = {
        contract.trade_center_organization_id,
        contract.counterparty_organization_id,
        *(a.supplier_organization_id for a in allotments),
    }
    for organization_id in sorted(parties):
        outbox.emit(uow, event, organization_id=organization_id)


def shipment_recorded(
    uow: UnitOfWork, contract: TradeContract, supplier_id: uuid.UUID, shipment: TradeShipment
) -> None:
    """A shipment against an allotment (a shipped call-off leg or a direct one): to the
    trade center (its levy), the counterparty (its goods) and the supplier."""
    event = TradeContractShipmentRecorded(
        contract_id=contract.id,
        shipment_id=shipment.id,
        allotment_id=shipment.allotment_id,
        supplier_organization_id=supplier_id,
        order_leg_id=shipment.order_leg_id,
        reference=shipment.reference,
        week_start=shipment.week_start,
        quantity=shipment.quantity,
        amount=shipment.amount,
        levy=shipment.levy_amount,
    )
    parties = {
        contract.trade_center_organization_id,
        contract.counterparty_organization_id,
        supplier_id,
    }
    for organization_id in sorted(parties):
        outbox.emit(uow, event, organization_id=organization_id)
