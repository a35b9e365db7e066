"""Settlement runs and payouts. Never commits.

A run settles, for one cooperative and a cut-off, every sale, return and adjustment not
yet settled, per consignor, with set-based SQL (see
`SettlementRepository.settle`: one statement writes the statements, their payouts, the
agreements' cycle and the statements' events); the numbers follow
`settlement.build_statement` (opening balance + net sales + adjustments = payout due +
closing balance; everything available is paid out).

A statement is the range of record numbers ``(from_seq, to_seq]`` that follows the
consignor's previous statement; nothing is written on the settled rows. A run holds the
cooperative's record lock exclusively (no sale, return or adjustment of the cooperative in
flight, see `repository.settlement_lock_key`), which also serialises its runs; whatever
happens, the database refuses a statement whose range overlaps or does not follow the
previous one, so a run that raced another fails (409, retry) instead of settling twice.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.exc import IntegrityError

from marketplace.accounts import OrganizationDirectory, OrganizationKind, Principal, Role
from marketplace.consignment import statement_events
from marketplace.consignment.domain import (
    CutoffInFuture,
    PayoutAlreadyPaid,
    PayoutStatus,
    SettlementMismatch,
    ZeroAdjustment,
)
from marketplace.consignment.models import (
    Adjustment,
    Payout,
    Return,
    Sale,
    SettlementRun,
    Statement,
)
from marketplace.consignment.repository import ConsignmentRepository
from marketplace.consignment.schemas import AdjustmentCreate
from marketplace.consignment.service import now
from marketplace.consignment.settlement_repository import SettlementRepository
from marketplace.db import UnitOfWork
from marketplace.errors import NotFound, PermissionDenied, ValidationFailed
from marketplace.ids import new_id
from marketplace.ledger import LedgerService, postings

# Clock skew allowed between the caller and the database for "now" as a cut-off.
CUTOFF_TOLERANCE = dt.timedelta(minutes=5)


class SettlementService:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.repo = ConsignmentRepository(uow.session)
        self.settlements = SettlementRepository(uow.session)

    # --- running -----------------------------------------------------------------------

    async def _finance_of_cooperative(
        self, principal: Principal, cooperative_id: uuid.UUID | None
    ) -> uuid.UUID:
        """The cooperative a finance caller acts for (a platform admin names it)."""
        principal.require_role(Role.FINANCE)
        if cooperative_id is not None and cooperative_id != principal.organization_id:
            principal.acting_for(cooperative_id, "organization")
            cooperative = await OrganizationDirectory(self.uow).get(cooperative_id)
            if cooperative is None or cooperative.kind is not OrganizationKind.COOPERATIVE:
                raise NotFound("No such cooperative.", cooperative_id=cooperative_id)
            return cooperative_id
        if principal.is_platform:
            raise ValidationFailed(
                "A platform administrator names the cooperative (`cooperative_id`).",
                field="cooperative_id",
            )
        principal.require_kind(OrganizationKind.COOPERATIVE)
        return principal.organization_id

    async def run_for(
        self, principal: Principal, cutoff: dt.datetime, cooperative_id: uuid.UUID | None
    ) -> SettlementRun:
        cooperative_id = await self._finance_of_cooperative(principal, cooperative_id)
        if cutoff.tzinfo is None:
            raise ValidationFailed("The cut-off must carry a time zone.", field="cutoff")
        if cutoff > now() + CUTOFF_TOLERANCE:
            raise CutoffInFuture(
                "Sales after now are not final yet; choose a cut-off in the past.",
                cutoff=cutoff.isoformat(),
            )
        return await self.settle(cooperative_id, cutoff)

    async def settle(
        self,
        cooperative_id: uuid.UUID,
        cutoff: dt.datetime,
        *,
        consignor_ids: list[uuid.UUID] | None = None,
    ) -> SettlementRun:
        """Settle the cooperative's consignors (all, or `consignor_ids`) up to `cutoff`."""
        await self.repo.lock_records(cooperative_id, exclusive=True)
        run = SettlementRun(id=new_id(), cooperative_id=cooperative_id, cutoff=cutoff)
        self.repo.add(run)
        await self.repo.flush()
        consignors = await self.settlements.settlement_pairs(cooperative_id, consignor_ids)
        if consignors:
            try:
                written = await self.settlements.settle(
                    run.id, cooperative_id, cutoff, consignors, now()
                )
            except IntegrityError as exc:
                # Only a run that bypassed the lock can get here: another run settled
                # some of these records first, and the database refused to settle them
                # twice. Nothing of this run is kept.
                raise SettlementMismatch(
                    "Another settlement run of this cooperative settled these records "
                    "first; retry.",
                    cooperative_id=str(cooperative_id),
                ) from exc
            run.statements_count = len(written)
            run.sales_count = sum(w.sales_count for w in written)
            run.payout_total = sum(w.payout_due for w in written)
            statement_events.issued(self.uow, written)
        await self.repo.flush()
        return run

    async def due(self) -> dict[uuid.UUID, list[uuid.UUID]]:
        """Consignors per cooperative whose agreement's settlement cycle has elapsed."""
        by_cooperative: dict[uuid.UUID, list[uuid.UUID]] = {}
        for cooperative_id, consignor_id in await self.settlements.due_agreements(now()):
            by_cooperative.setdefault(cooperative_id, []).append(consignor_id)
        return by_cooperative

    async def settle_due_for(
        self, cooperative_id: uuid.UUID, consignor_ids: list[uuid.UUID], cutoff: dt.datetime
    ) -> SettlementRun:
        run = await self.settle(cooperative_id, cutoff, consignor_ids=consignor_ids)
        # Agreements with nothing to settle still start a new cycle.
        await self.settlements.mark_settled(cooperative_id, consignor_ids, cutoff)
        return run

    # --- adjustments -------------------------------------------------------------------

    async def record_adjustment(self, principal: Principal, data: AdjustmentCreate) -> Adjustment:
        """The cooperative's finance corrects what a consignor is owed (signed). Posted to
        the ledger now; the next statement of the pair shows and settles it, once (its
        number falls in exactly one statement's range)."""
        cooperative_id = await self._finance_of_cooperative(principal, data.cooperative_id)
        if data.amount == 0:
            raise ZeroAdjustment("An adjustment's amount cannot be zero.", field="amount")
        agreement = await self.repo.agreement_for_pair(
            cooperative_id, data.consignor_id, active_only=False
        )
        if agreement is None:
            raise NotFound("No such consignor.", consignor_id=str(data.consignor_id))
        # Its number must not be in flight while a settlement run picks its range.
        await self.repo.lock_records(cooperative_id, exclusive=False)
        adjustment = Adjustment(
            id=new_id(),
            agreement_id=agreement.id,
            cooperative_id=cooperative_id,
            consignor_id=agreement.consignor_id,
            amount=data.amount,
            reason=data.reason.strip(),
            created_by=principal.api_key_id,
            created_by_person_id=principal.person_id,
        )
        self.repo.add(adjustment)
        await self.repo.flush()
        await self.uow.session.refresh(adjustment)
        await LedgerService(self.uow).post(
            postings.consignment_adjustment(
                adjustment.id, cooperative_id, agreement.consignor_id, data.amount
            )
        )
        return adjustment

    async def adjustments(
        self,
        principal: Principal,
        *,
        consignor_id: uuid.UUID | None,
        after: uuid.UUID | None,
        limit: int,
    ) -> list[tuple[Adjustment, uuid.UUID | None]]:
        """Newest first, with the statement that settled each (a consignor sees its own)."""
        return await self.repo.adjustments_page(
            scope=principal.scope, consignor_id=consignor_id, after=after, limit=limit
        )

    async def adjustment(
        self, principal: Principal, adjustment_id: uuid.UUID
    ) -> tuple[Adjustment, uuid.UUID | None]:
        found = await self.repo.adjustment(adjustment_id)
        if found is None or not principal.is_party(found[0].cooperative_id, found[0].consignor_id):
            raise NotFound("No such adjustment.")
        return found

    # --- reading -----------------------------------------------------------------------

    async def run_view(self, run: SettlementRun) -> tuple[list[Statement], dict[uuid.UUID, Payout]]:
        statements = await self.settlements.statements_of_run(run.id)
        payouts = await self.settlements.payouts_of_statements([s.id for s in statements])
        return statements, payouts

    async def statements(
        self,
        principal: Principal,
        *,
        consignor_id: uuid.UUID | None,
        after: uuid.UUID | None,
        limit: int,
    ) -> tuple[list[Statement], dict[uuid.UUID, Payout]]:
        statements = await self.settlements.statements_page(
            scope=principal.scope, consignor_id=consignor_id, after=after, limit=limit
        )
        payouts = await self.settlements.payouts_of_statements([s.id for s in statements])
        return statements, payouts

    async def statement(
        self, principal: Principal, statement_id: uuid.UUID
    ) -> tuple[Statement, Payout | None, list[Sale], list[Return], list[Adjustment]]:
        statement = await self.settlements.statement(statement_id)
        if statement is None or not principal.is_party(
            statement.cooperative_id, statement.consignor_id
        ):
            raise NotFound("No such statement.")
        payouts = await self.settlements.payouts_of_statements([statement.id])
        return (
            statement,
            payouts.get(statement.id),
            await self.settlements.sales_of_statement(statement),
            await self.settlements.returns_of_statement(statement),
            await self.settlements.adjustments_of_statement(statement),
        )

    async def payouts(
        self,
        principal: Principal,
        *,
        status: PayoutStatus | None,
        after: uuid.UUID | None,
        limit: int,
    ) -> list[Payout]:
        return await self.settlements.payouts_page(
            scope=principal.scope,
            status=status.value if status else None,
            after=after,
            limit=limit,
        )

    async def payout(self, principal: Principal, payout_id: uuid.UUID) -> Payout:
        payout = await self.settlements.payout(payout_id)
        if payout is None or not principal.is_party(payout.cooperative_id, payout.consignor_id):
            raise NotFound("No such payout.")
        return payout

    # --- paying ------------------------------------------------------------------------

    async def mark_paid(
        self, principal: Principal, payout_id: uuid.UUID, bank_reference: str
    ) -> Payout:
        """The cooperative's finance records the bank transfer; the ledger pays the
        consignor's payable out of cash. Repeating it with the same reference is a no-op."""
        payout = await self.settlements.payout(payout_id, for_update=True)
        if payout is None or not principal.is_party(payout.cooperative_id, payout.consignor_id):
            raise NotFound("No such payout.")
        if not principal.is_party(payout.cooperative_id):
            raise PermissionDenied("Only the cooperative's finance marks a payout paid.")
        principal.require_role(Role.FINANCE)
        principal.acting_for(payout.cooperative_id, "payout")
        reference = bank_reference.strip()
        if payout.status == PayoutStatus.PAID:
            if payout.bank_reference == reference:
                return payout
            raise PayoutAlreadyPaid(
                "This payout was already marked paid with another bank reference.",
                bank_reference=payout.bank_reference,
            )
        await self.pay(payout, reference)
        return payout

    async def pay(self, payout: Payout, bank_reference: str) -> None:
        payout.status = PayoutStatus.PAID
        payout.bank_reference = bank_reference
        payout.paid_at = now()
        await self.repo.flush()
        await LedgerService(self.uow).post(
            postings.consignment_payout(
                payout.id, payout.cooperative_id, payout.consignor_id, payout.amount
            )
        )
