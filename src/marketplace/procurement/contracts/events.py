"""Trade-contract events for partners (`marketplace.webhooks.EventType`), emitted in the
transaction of the change: what each party's system needs to follow a contract."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from marketplace import outbox
from marketplace.db import UnitOfWork
from marketplace.procurement.contracts.models import TradeAllotment, TradeContract, TradeShipment
from marketplace.webhooks import EventType

SIGNED = EventType.PROCUREMENT_TRADE_CONTRACT_SIGNED
REALLOTTED = EventType.PROCUREMENT_TRADE_CONTRACT_REALLOTTED
SHIPMENT_RECORDED = EventType.PROCUREMENT_TRADE_CONTRACT_SHIPMENT_RECORDED


def _allotments(allotments: Sequence[TradeAllotment]) -> list[dict[str, object]]:
    return [
        {
            "allotment_id": str(a.id),
            "supplier_organization_id": str(a.supplier_organization_id),
            "weekly_quantity": a.quantity,
        }
        for a in sorted(allotments, key=lambda a: a.position)
    ]


def signed(uow: UnitOfWork, contract: TradeContract, allotments: Sequence[TradeAllotment]) -> None:
    _to_parties(
        uow,
        SIGNED,
        contract,
        allotments,
        {
            "counterparty_organization_id": str(contract.counterparty_organization_id),
            "counterparty_city_code": contract.counterparty_city_code,
            "product_id": str(contract.product_id),
            "weekly_volume": contract.weekly_volume,
            "unit_price": contract.unit_price,
            "levy_bps": contract.levy_bps,
            "currency": "IDR",
            "start_date": contract.start_date.isoformat(),
            "end_date": contract.end_date.isoformat(),
        },
    )


def reallotted(
    uow: UnitOfWork,
    contract: TradeContract,
    allotments: Sequence[TradeAllotment],
    short: TradeAllotment,
    shortfall: int,
    unplaced: int,
) -> None:
    """A supplier's shortfall went down the list: every allotment as it now stands."""
    _to_parties(
        uow,
        REALLOTTED,
        contract,
        allotments,
        {
            "allotment_id": str(short.id),
            "supplier_organization_id": str(short.supplier_organization_id),
            "shortfall": shortfall,
            "unplaced": unplaced,
            "contract_unplaced": contract.unplaced,
        },
    )


def _to_parties(
    uow: UnitOfWork,
    event_type: EventType,
    contract: TradeContract,
    allotments: Sequence[TradeAllotment],
    figures: dict[str, object],
) -> None:
    """The contract's change to each party: the trade center, the counterparty city and
    every supplying cooperative (each may read the whole contract)."""
    payload = {
        "contract_id": str(contract.id),
        "trade_center_organization_id": str(contract.trade_center_organization_id),
        **figures,
        "allotments": _allotments(allotments),
    }
    parties = {
        contract.trade_center_organization_id,
        contract.counterparty_organization_id,
        *(a.supplier_organization_id for a in allotments),
    }
    for organization_id in sorted(parties):
        outbox.emit(uow, event_type, payload, organization_id=organization_id)


def shipment_recorded(
    uow: UnitOfWork, contract: TradeContract, supplier_id: uuid.UUID, shipment: TradeShipment
) -> None:
    """A shipment against an allotment (a shipped call-off leg or a direct one): to the
    trade center (its levy), the counterparty (its goods) and the supplier."""
    payload = {
        "contract_id": str(contract.id),
        "shipment_id": str(shipment.id),
        "allotment_id": str(shipment.allotment_id),
        "supplier_organization_id": str(supplier_id),
        "order_leg_id": str(shipment.order_leg_id) if shipment.order_leg_id else None,
        "reference": shipment.reference,
        "week_start": shipment.week_start.isoformat(),
        "quantity": shipment.quantity,
        "amount": shipment.amount,
        "levy": shipment.levy_amount,
        "currency": "IDR",
    }
    parties = {
        contract.trade_center_organization_id,
        contract.counterparty_organization_id,
        supplier_id,
    }
    for organization_id in sorted(parties):
        outbox.emit(
            uow,
            SHIPMENT_RECORDED,
            payload,
            organization_id=organization_id,
        )
