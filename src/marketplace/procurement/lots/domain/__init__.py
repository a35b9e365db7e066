"""Bulog lots: vocabulary, states and errors (pure; no I/O imports, checked by import-linter).

The rules are modules beside this one: `aggregation` (pooling, closing, sharing a receipt
out) and `terms` (a lot's Bulog branch, size and cut-off).
"""

from __future__ import annotations

import enum

from marketplace.errors import Conflict, ValidationFailed

BULOG_LOT_KIND = "bulog_lot"
"""The order-leg kind that pools into a lot."""


class LotStatus(enum.StrEnum):
    OPEN = "open"  # pooling demand
    CLOSED = "closed"  # its purchase order went to the Bulog branch; awaiting delivery
    RECEIVED = "received"  # delivered and shared out to the waiting legs
    CANCELLED = "cancelled"  # closed with nothing to order


class LotCloseReason(enum.StrEnum):
    SUBMITTED = "submitted"  # the cooperative submitted it
    FULL = "full"  # it reached the weekly quota
    CUTOFF = "cutoff"  # its cut-off passed


class BulogOrderStatus(enum.StrEnum):
    SENT = "sent"
    RECEIVED = "received"


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


__all__ = [
    "BULOG_LOT_KIND",
    "LotChanged",
    "LotEmpty",
    "LotNotAwaitingDelivery",
    "LotNotOpen",
    "LotStatus",
    "NoBulogBranch",
]
