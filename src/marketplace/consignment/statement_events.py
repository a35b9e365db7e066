"""Consignment events for partners (`consignment.domain.events`), emitted in the
transaction of the settlement run: each statement to its consignor and its cooperative."""

from __future__ import annotations

from collections.abc import Sequence

from marketplace import outbox
from marketplace.consignment.settlement_repository import SettledStatement
from marketplace.db import UnitOfWork


def issued(uow: UnitOfWork, statements: Sequence[SettledStatement]) -> None:
    """The run's own statement wrote each statement's `StatementIssued` to its consignor
    and its cooperative (`settlement_repository.SETTLE_SQL`: 2,000 events of a run of
    1,000 consignors, without a Struct each in Python); their handling is enqueued after
    commit, as for any event emitted."""
    outbox.enqueue_written(
        uow, [e for s in statements for e in (s.consignor_event_id, s.cooperative_event_id)]
    )
