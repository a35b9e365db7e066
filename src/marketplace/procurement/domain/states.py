"""The states of Bulog lots, their purchase orders and trade contracts (stored as these
strings: `db.enum_column`)."""

from __future__ import annotations

import enum


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


class ContractStatus(enum.StrEnum):
    ACTIVE = "active"
