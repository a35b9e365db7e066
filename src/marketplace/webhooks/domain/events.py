"""The partner events: every event class a partner can subscribe to, by type.

The list is of the classes the contexts emit (their `domain/events.py`), so what partners
are offered (`EVENT_TYPES`, the OpenAPI document's `webhooks`) is what is emitted;
`tests/api/test_partner_events.py` runs the flow that emits each, and
`tests/test_events.py` finds every `PartnerEvent` class here.
"""

from __future__ import annotations

from types import MappingProxyType

from marketplace.consignment.domain.events import StatementIssued
from marketplace.events import PartnerEvent
from marketplace.listings.domain.events import ListingPaused
from marketplace.orders.domain.events import (
    OrderCancelled,
    OrderLegDelivered,
    OrderLegShipped,
    OrderPlaced,
)
from marketplace.payments.domain.events import PaymentFailed, PaymentRefunded, PaymentSucceeded
from marketplace.procurement.contracts.domain.events import (
    TradeContractReallotted,
    TradeContractShipmentRecorded,
    TradeContractSigned,
)
from marketplace.procurement.lots.domain.events import (
    BulogLotClosed,
    BulogLotReceived,
    BulogLotSubmitted,
)
from marketplace.procurement.sourcing.domain.events import (
    InvoiceIssued,
    PurchaseOrderCreated,
    RfqPublished,
    TreasuryPaymentRecorded,
)

PARTNER_EVENTS: tuple[type[PartnerEvent], ...] = (
    OrderPlaced,
    OrderCancelled,
    OrderLegShipped,
    OrderLegDelivered,
    ListingPaused,
    StatementIssued,
    BulogLotClosed,
    BulogLotSubmitted,
    BulogLotReceived,
    TradeContractSigned,
    TradeContractReallotted,
    TradeContractShipmentRecorded,
    RfqPublished,
    PurchaseOrderCreated,
    InvoiceIssued,
    TreasuryPaymentRecorded,
    PaymentSucceeded,
    PaymentFailed,
    PaymentRefunded,
)

PARTNER_EVENT_CLASSES: MappingProxyType[str, type[PartnerEvent]] = MappingProxyType(
    {event_class.event_type: event_class for event_class in PARTNER_EVENTS}
)
if len(PARTNER_EVENT_CLASSES) != len(PARTNER_EVENTS):
    raise AssertionError("two partner event classes share a type")
