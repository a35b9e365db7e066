"""Use cases: award an RFQ (creating the purchase order) and decline a purchase order.

Lock order everywhere in sourcing: the RFQ row first, then its purchase order, so an
award, a decline and a goods receipt on the same process serialise without deadlocks. A
partial unique index keeps at most one live (not declined) purchase order per RFQ.
"""

from __future__ import annotations

import uuid

import msgspec

from marketplace import outbox
from marketplace.accounts import Principal, Role
from marketplace.db import UnitOfWork
from marketplace.errors import NotFound, ValidationFailed
from marketplace.procurement.sourcing import domain
from marketplace.procurement.sourcing.domain import (
    PurchaseOrderEvent,
    PurchaseOrderStatus,
    QuoteStatus,
    RankedQuote,
    RfqStatus,
)
from marketplace.procurement.sourcing.domain.events import (
    PurchaseOrderCreated,
    PurchaseOrderDeclined,
    RfqFailed,
)
from marketplace.procurement.sourcing.models import PurchaseOrder, Rfq
from marketplace.procurement.sourcing.repository import SourcingRepository
from marketplace.procurement.sourcing.schemas import AwardCreate
from marketplace.procurement.sourcing.service import now, rank, rfq_items


class ReasonRequired(ValidationFailed):
    code = "procurement.award_reason_required"
    title = "Awarding a named quote needs a reason"


class DeclineResult(msgspec.Struct, frozen=True, kw_only=True):
    declined: PurchaseOrder
    next_purchase_order: PurchaseOrder | None
    rfq_status: RfqStatus


class AwardService:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.repo = SourcingRepository(uow.session)

    async def ensure_owner(self, principal: Principal, rfq_id: uuid.UUID) -> None:
        """404 for another organization's RFQ, before anything else is looked at."""
        rfq = await self.repo.rfq(rfq_id)
        if rfq is None or rfq.buyer_organization_id != principal.organization_id:
            raise NotFound("No such RFQ.")

    async def award(
        self, principal: Principal, rfq_id: uuid.UUID, data: AwardCreate
    ) -> PurchaseOrder:
        rfq = await self.repo.rfq(rfq_id, lock="update")
        if rfq is None or rfq.buyer_organization_id != principal.organization_id:
            raise NotFound("No such RFQ.")
        principal.require_role(Role.PROCUREMENT)
        if RfqStatus(rfq.status) is not RfqStatus.OPEN:
            raise domain.AlreadyAwarded(
                f"This RFQ is already {rfq.status}.", status=rfq.status, rfq_id=rfq.id
            )
        moment = now()
        if moment < rfq.deadline:
            raise domain.RfqStillOpen(
                "Quotes are sealed until the deadline; award after it.", deadline=rfq.deadline
            )
        if data.quote_id is not None and data.reason is None:
            raise ReasonRequired(
                "Say why the named quote is chosen over the lowest compliant one.",
                quote_id=data.quote_id,
            )
        ranked = rank(rfq, await self.repo.quotes_of([rfq.id]))
        chosen = domain.choose_award(ranked, named=data.quote_id)
        if chosen is None:
            raise domain.NoCompliantQuote(
                "No compliant quote was received.",
                quotes=len(ranked),
                reasons={str(r.quote.quote_id): list(r.reasons) for r in ranked},
            )
        po = await self._issue(principal, rfq, chosen, reason=data.reason, cascaded_from=None)
        rfq.status = RfqStatus.AWARDED
        rfq.awarded_at = moment
        rfq.changed_at = moment
        await self.repo.flush()
        return po

    async def _issue(
        self,
        principal: Principal,
        rfq: Rfq,
        chosen: RankedQuote,
        *,
        reason: str | None,
        cascaded_from: uuid.UUID | None,
    ) -> PurchaseOrder:
        lines = domain.po_lines(rfq_items(rfq), chosen.quote)
        totals = domain.order_totals(lines)
        po = PurchaseOrder(
            rfq_id=rfq.id,
            quote_id=chosen.quote.quote_id,
            buyer_organization_id=rfq.buyer_organization_id,
            supplier_organization_id=chosen.quote.supplier_id,
            status=PurchaseOrderStatus.ISSUED.value,
            lines=msgspec.to_builtins(lines),
            subtotal=totals.subtotal,
            vat=totals.vat,
            pph22=totals.pph22,
            total=totals.total,
            net_payable=totals.net_payable,
            award_reason=reason,
            cascaded_from_id=cascaded_from,
            delivery_date=rfq.delivery_date,
            awarded_by_api_key_id=principal.api_key_id,
            awarded_by_person_id=principal.person_id,
        )
        self.repo.add(po)
        quote = await self.repo.quote(chosen.quote.quote_id)
        assert quote is not None
        quote.status = QuoteStatus.AWARDED
        await self.repo.flush()
        outbox.emit(
            self.uow,
            PurchaseOrderCreated(
                purchase_order_id=po.id,
                rfq_id=rfq.id,
                buyer_organization_id=po.buyer_organization_id,
                total=po.total,
                delivery_date=po.delivery_date,
                cascaded_from_id=cascaded_from,
            ),
            organization_id=po.supplier_organization_id,
        )
        return po

    async def decline(self, principal: Principal, po_id: uuid.UUID, reason: str) -> DeclineResult:
        """The awarded supplier declines; the award cascades to the next-lowest compliant
        quote, or the RFQ fails when none is left."""
        found = await self.repo.purchase_order(po_id)
        if found is None or found.supplier_organization_id != principal.organization_id:
            raise NotFound("No such purchase order.")
        principal.require_role(Role.SELLER)
        rfq = await self.repo.rfq(found.rfq_id, lock="update")
        po = await self.repo.purchase_order(po_id, for_update=True)
        assert rfq is not None
        assert po is not None
        new_status = domain.next_po_status(
            PurchaseOrderStatus(po.status), PurchaseOrderEvent.DECLINE
        )
        moment = now()
        po.status = new_status
        po.declined_at = moment
        po.decline_reason = reason
        quote = await self.repo.quote(po.quote_id)
        assert quote is not None
        quote.status = QuoteStatus.DECLINED
        await self.repo.flush()
        chosen = domain.choose_award(rank(rfq, await self.repo.quotes_of([rfq.id])))
        next_po: PurchaseOrder | None = None
        if chosen is not None:
            next_po = await self._issue(
                principal,
                rfq,
                chosen,
                reason=f"Cascaded: the supplier of purchase order {po.id} declined.",
                cascaded_from=po.id,
            )
        else:
            rfq.status = RfqStatus.FAILED
            rfq.failed_at = moment
            outbox.emit(
                self.uow,
                RfqFailed(rfq_id=rfq.id, reason="every compliant supplier declined"),
                organization_id=rfq.buyer_organization_id,
            )
        rfq.changed_at = moment
        await self.repo.flush()
        outbox.emit(
            self.uow,
            PurchaseOrderDeclined(
                purchase_order_id=po.id,
                rfq_id=rfq.id,
                reason=reason,
                next_purchase_order_id=next_po.id if next_po else None,
            ),
            organization_id=po.buyer_organization_id,
        )
        return DeclineResult(
            declined=po, next_purchase_order=next_po, rfq_status=RfqStatus(rfq.status)
        )
