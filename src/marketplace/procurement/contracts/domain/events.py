"""Trade-contract events (see `marketplace.events`): every party of a contract follows it."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import ClassVar

import msgspec

from marketplace.events import Currency, PartnerEvent
from marketplace.money import Rupiah


class Allotment(msgspec.Struct, frozen=True, kw_only=True):
    """A supplier's place on a contract, in allotment order."""

    allotment_id: uuid.UUID
    supplier_organization_id: uuid.UUID
    weekly_quantity: int


class TradeContractSigned(PartnerEvent, frozen=True, kw_only=True):
    """A trade center signed a contract: to it, the counterparty and each supplier."""

    event_type: ClassVar[str] = "procurement.trade_contract.signed"
    contract_id: uuid.UUID
    trade_center_organization_id: uuid.UUID
    counterparty_organization_id: uuid.UUID
    counterparty_city_code: str
    product_id: uuid.UUID
    weekly_volume: int
    unit_price: Rupiah
    levy_bps: int
    currency: Currency = "IDR"
    start_date: dt.date
    end_date: dt.date
    allotments: list[Allotment]


class TradeContractReallotted(PartnerEvent, frozen=True, kw_only=True):
    """A supplier's shortfall went down the list: every allotment as it now stands. To the
    trade center, the counterparty and each supplier."""

    event_type: ClassVar[str] = "procurement.trade_contract.reallotted"
    contract_id: uuid.UUID
    trade_center_organization_id: uuid.UUID
    allotment_id: uuid.UUID
    supplier_organization_id: uuid.UUID
    shortfall: int
    unplaced: int
    contract_unplaced: int
    allotments: list[Allotment]


class TradeContractShipmentRecorded(PartnerEvent, frozen=True, kw_only=True):
    """A shipment against an allotment (a shipped call-off leg, or a direct one with no
    `order_leg_id`): to the trade center, the counterparty and the supplier."""

    event_type: ClassVar[str] = "procurement.trade_contract.shipment_recorded"
    contract_id: uuid.UUID
    shipment_id: uuid.UUID
    allotment_id: uuid.UUID
    supplier_organization_id: uuid.UUID
    order_leg_id: uuid.UUID | None
    reference: str | None
    week_start: dt.date
    quantity: int
    amount: Rupiah
    levy: Rupiah
    currency: Currency = "IDR"


__all__ = [
    "Allotment",
    "TradeContractReallotted",
    "TradeContractShipmentRecorded",
    "TradeContractSigned",
]
