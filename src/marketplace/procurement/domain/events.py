"""Bulog lot and trade-contract events (see `marketplace.events`): the cooperative follows
its lot, the Bulog branch its purchase orders; every party of a trade contract follows it."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import ClassVar

import msgspec

from marketplace.events import Currency, PartnerEvent
from marketplace.money import Rupiah
from marketplace.procurement.domain.states import LotCloseReason, LotStatus

# --- Bulog purchase lots ----------------------------------------------------------------


class BulogLotClosed(PartnerEvent, frozen=True, kw_only=True):
    """The lot stopped pooling (`status` `cancelled` when there was nothing to order): to
    the cooperative."""

    event_type: ClassVar[str] = "procurement.bulog_lot.closed"
    lot_id: uuid.UUID
    status: LotStatus
    reason: LotCloseReason | None
    product_id: uuid.UUID
    bulog_organization_id: uuid.UUID
    total_demand: int
    order_quantity: int | None
    surplus: int | None
    closed_at: dt.datetime


class BulogLotSubmitted(PartnerEvent, frozen=True, kw_only=True):
    """The lot's purchase order went to the Bulog branch: to it and the cooperative."""

    event_type: ClassVar[str] = "procurement.bulog_lot.submitted"
    lot_id: uuid.UUID
    purchase_order_id: uuid.UUID
    bulog_organization_id: uuid.UUID
    cooperative_organization_id: uuid.UUID
    product_id: uuid.UUID
    quantity: int
    unit_price: Rupiah
    total: Rupiah
    currency: Currency = "IDR"


class BulogLotReceived(PartnerEvent, frozen=True, kw_only=True):
    """The cooperative received the delivery, what arrived and where it went: to it and the
    Bulog branch."""

    event_type: ClassVar[str] = "procurement.bulog_lot.received"
    lot_id: uuid.UUID
    purchase_order_id: uuid.UUID | None
    product_id: uuid.UUID
    ordered_quantity: int | None
    received_quantity: int | None
    released: int
    unfilled: int
    surplus: int
    received_at: dt.datetime


# --- inter-city trade contracts ---------------------------------------------------------


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
