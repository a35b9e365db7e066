"""Use cases: publish an RFQ, read RFQs, submit and read quotes.

Who sees what: the owning office sees its RFQs and, once the deadline has passed, every
quote with its evaluation; a cooperative sees the RFQs delivering to its city (same
``province.city`` region prefix) and only its own quote; the platform sees everything.
Anyone else gets 404 for an RFQ, never 403. Awards are in `award_service.py`; goods
receipts, invoices and payments in `fulfilment_service.py`.
"""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec

from marketplace import clock, outbox
from marketplace.accounts import OrganizationDirectory, OrganizationKind, Principal, Role, Scope
from marketplace.db import UnitOfWork
from marketplace.errors import NotFound, PermissionDenied
from marketplace.ids import new_id
from marketplace.listings import ProductService
from marketplace.procurement.domain.errors import UnknownProduct
from marketplace.procurement.sourcing import domain
from marketplace.procurement.sourcing.domain import (
    InvalidRfq,
    QuoteCandidate,
    QuoteStatus,
    RankedQuote,
    RfqItem,
    RfqStatus,
)
from marketplace.procurement.sourcing.domain.events import RfqPublished
from marketplace.procurement.sourcing.models import PurchaseOrder, Quote, Rfq
from marketplace.procurement.sourcing.repository import SourcingRepository
from marketplace.procurement.sourcing.schemas import QuoteCreate, RfqCreate
from marketplace.tax import VatTreatment


def now() -> dt.datetime:
    return clock.now()


def rfq_items(rfq: Rfq) -> list[RfqItem]:
    return msgspec.convert(rfq.items, list[RfqItem])


def quote_candidate(quote: Quote) -> QuoteCandidate:
    return QuoteCandidate(
        quote_id=quote.id,
        supplier_id=quote.supplier_organization_id,
        unit_prices={int(k): v for k, v in quote.unit_prices.items()},
        delivery_promise=quote.delivery_promise_date,
        submitted_at=quote.submitted_at,
        status=QuoteStatus(quote.status),
    )


def _quantities(rfq: Rfq) -> dict[int, int]:
    return {item.line_no: item.quantity for item in rfq_items(rfq)}


def rank(rfq: Rfq, quotes: list[Quote]) -> list[RankedQuote]:
    return domain.evaluate(
        rfq_items(rfq),
        [quote_candidate(q) for q in quotes],
        delivery_date=rfq.delivery_date,
        ceiling=rfq.ceiling_amount,
    )


class RfqView(msgspec.Struct, frozen=True, kw_only=True):
    rfq: Rfq
    status: RfqStatus
    quote_count: int | None = None
    """For the owning office and the platform, once the deadline has passed."""
    purchase_order_id: uuid.UUID | None = None


class QuoteView(msgspec.Struct, frozen=True, kw_only=True):
    quote: Quote
    quantities: dict[int, int]
    """The RFQ's quantity per line, to show each quoted line's amount."""
    rank: int | None = None
    ranked: RankedQuote | None = None


class RfqService:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.repo = SourcingRepository(uow.session)
        self.products = ProductService(uow)
        self.directory = OrganizationDirectory(uow)

    # --- access ------------------------------------------------------------------------

    async def _cooperative_city(self, principal: Principal) -> str | None:
        if principal.organization_kind is not OrganizationKind.COOPERATIVE:
            return None
        org = await self.directory.get(principal.organization_id)
        return domain.city_prefix(org.region_code) if org else None

    async def visible_rfq(self, principal: Principal, rfq_id: uuid.UUID) -> Rfq:
        rfq = await self.repo.rfq(rfq_id)
        if rfq is None:
            raise NotFound("No such RFQ.")
        if principal.is_party(rfq.buyer_organization_id):
            return rfq
        if await self._cooperative_city(principal) == rfq.delivery_city_prefix:
            return rfq
        raise NotFound("No such RFQ.")

    # --- publishing --------------------------------------------------------------------

    async def publish(self, principal: Principal, data: RfqCreate) -> RfqView:
        if principal.is_platform:
            raise PermissionDenied("The platform does not buy; use a procurement office's key.")
        principal.require_kind(OrganizationKind.GOVERNMENT)
        principal.require_role(Role.PROCUREMENT)
        moment = now()
        if data.deadline <= moment:
            raise InvalidRfq(
                "The quote deadline must be in the future.", deadline=data.deadline, now=moment
            )
        # The office's calendar: a deadline of 23:00 WIB sent as 16:00Z closes on that day.
        office = await self.directory.get(principal.organization_id)
        assert office is not None
        closing_day = office.local_date(data.deadline)
        if data.delivery.date < closing_day:
            raise InvalidRfq(
                "Delivery cannot be required before quotes close.",
                delivery_date=data.delivery.date,
                deadline=data.deadline,
                deadline_date=closing_day,
            )
        product_ids = [item.product_id for item in data.items]
        if len(set(product_ids)) != len(product_ids):
            raise InvalidRfq("List each product once, with its total quantity.")
        products = await self.products.products.get_many(product_ids)
        missing = [str(pid) for pid in product_ids if pid not in products]
        if missing:
            raise UnknownProduct("Some products are not in the catalogue.", product_ids=missing)
        items = [
            RfqItem(
                line_no=n,
                product_id=item.product_id,
                quantity=item.quantity,
                description=products[item.product_id].name,
                unit_code=products[item.product_id].unit_code,
                unit_label=products[item.product_id].unit_label,
                category=products[item.product_id].category,
                vat_treatment=VatTreatment(products[item.product_id].vat_treatment),
            )
            for n, item in enumerate(data.items, start=1)
        ]
        rfq = Rfq(
            buyer_organization_id=principal.organization_id,
            title=data.title,
            status=RfqStatus.OPEN.value,
            items=msgspec.to_builtins(items),
            delivery_date=data.delivery.date,
            delivery_region_code=data.delivery.region_code,
            delivery_city_prefix=domain.city_prefix(data.delivery.region_code),
            delivery_address=data.delivery.address,
            budget_code=data.budget_code,
            ceiling_amount=data.ceiling_amount,
            deadline=data.deadline,
            evaluation_rule=data.evaluation_rule.value,
            created_by_api_key_id=principal.api_key_id,
            created_by_person_id=principal.person_id,
            changed_at=moment,
        )
        self.repo.add(rfq)
        await self.repo.flush()
        outbox.emit(
            self.uow,
            RfqPublished(
                rfq_id=rfq.id,
                buyer_organization_id=rfq.buyer_organization_id,
                delivery_region_code=rfq.delivery_region_code,
                deadline=rfq.deadline,
                items=len(items),
            ),
            organization_id=principal.organization_id,
        )
        return RfqView(rfq=rfq, status=RfqStatus.OPEN, quote_count=0)

    # --- reading -----------------------------------------------------------------------

    async def _views(self, principal: Principal, rfqs: list[Rfq]) -> list[RfqView]:
        moment = now()
        owned = [r.id for r in rfqs if principal.is_party(r.buyer_organization_id)]
        counts = await self.repo.quote_counts(owned)
        live: dict[uuid.UUID, PurchaseOrder] = {
            po.rfq_id: po
            for po in await self.repo.purchase_orders_of(owned)
            if po.status != domain.PurchaseOrderStatus.DECLINED
        }
        views = []
        for r in rfqs:
            status = domain.effective_rfq_status(RfqStatus(r.status), r.deadline, moment)
            if r.id in owned:
                sealed = status is RfqStatus.OPEN
                views.append(
                    RfqView(
                        rfq=r,
                        status=status,
                        quote_count=None if sealed else counts.get(r.id, 0),
                        purchase_order_id=live[r.id].id if r.id in live else None,
                    )
                )
            else:
                views.append(RfqView(rfq=r, status=status))
        return views

    async def get(self, principal: Principal, rfq_id: uuid.UUID) -> RfqView:
        rfq = await self.visible_rfq(principal, rfq_id)
        return (await self._views(principal, [rfq]))[0]

    async def list_rfqs(
        self,
        principal: Principal,
        *,
        status: RfqStatus | None,
        after: uuid.UUID | None,
        limit: int,
    ) -> list[RfqView]:
        # A government office lists its own RFQs; a cooperative every RFQ of its city
        # (an open tender is public to the suppliers it is addressed to).
        scope = Scope.everything()
        city: str | None = None
        if principal.is_platform:
            pass
        elif principal.organization_kind is OrganizationKind.GOVERNMENT:
            scope = principal.scope
        elif principal.organization_kind is OrganizationKind.COOPERATIVE:
            city = await self._cooperative_city(principal)
            if city is None:
                return []
        else:
            return []
        moment = now()
        statuses: list[str] | None = None
        open_after = closed_at = None
        if status is RfqStatus.OPEN:
            statuses, open_after = [RfqStatus.OPEN.value], moment
        elif status is RfqStatus.CLOSED:
            statuses, closed_at = [RfqStatus.OPEN.value], moment
        elif status is not None:
            statuses = [status.value]
        rfqs = await self.repo.rfqs_page(
            scope=scope,
            city_prefix=city,
            statuses=statuses,
            open_after=open_after,
            closed_at=closed_at,
            after=after,
            limit=limit,
        )
        return await self._views(principal, rfqs)

    # --- quotes ------------------------------------------------------------------------

    async def submit_quote(
        self, principal: Principal, rfq_id: uuid.UUID, data: QuoteCreate
    ) -> QuoteView:
        """Submit, or replace before the deadline, the cooperative's one quote."""
        if principal.is_platform:
            raise PermissionDenied("The platform does not quote; use a cooperative's key.")
        await self.visible_rfq(principal, rfq_id)
        principal.require_kind(OrganizationKind.COOPERATIVE)
        principal.require_role(Role.SELLER)
        # A share lock: an award (FOR UPDATE) cannot slip in between the check and insert.
        rfq = await self.repo.rfq(rfq_id, lock="share")
        assert rfq is not None
        moment = now()
        status = domain.effective_rfq_status(RfqStatus(rfq.status), rfq.deadline, moment)
        if status is not RfqStatus.OPEN:
            raise domain.RfqNotOpen(
                "This RFQ no longer accepts quotes.",
                status=status.value,
                deadline=rfq.deadline,
            )
        line_nos = [line.line_no for line in data.lines]
        if len(set(line_nos)) != len(line_nos):
            raise domain.QuoteIncomplete("Price each line once.", lines=sorted(line_nos))
        unit_prices = {line.line_no: line.unit_price for line in data.lines}
        items = rfq_items(rfq)
        domain.check_quote_covers(items, unit_prices)
        quote_id = await self.repo.upsert_quote(
            {
                "id": new_id(),
                "rfq_id": rfq.id,
                "supplier_organization_id": principal.organization_id,
                "status": QuoteStatus.SUBMITTED.value,
                "unit_prices": {str(k): v for k, v in sorted(unit_prices.items())},
                "total": domain.quote_total(items, unit_prices),
                "delivery_promise_date": data.delivery_promise_date,
                "note": data.note,
                "submitted_at": moment,
                "submitted_by_api_key_id": principal.api_key_id,
                "submitted_by_person_id": principal.person_id,
            }
        )
        quote = await self.repo.quote(quote_id)
        assert quote is not None
        return QuoteView(quote=quote, quantities=_quantities(rfq))

    async def quotes(self, principal: Principal, rfq_id: uuid.UUID) -> list[QuoteView]:
        rfq = await self.visible_rfq(principal, rfq_id)
        if not principal.is_party(rfq.buyer_organization_id):
            own = await self.repo.quotes_of([rfq.id], supplier_id=principal.organization_id)
            return [QuoteView(quote=q, quantities=_quantities(rfq)) for q in own]
        status = domain.effective_rfq_status(RfqStatus(rfq.status), rfq.deadline, now())
        if status is RfqStatus.OPEN:
            raise domain.RfqStillOpen(
                "Quotes are sealed until the deadline.", deadline=rfq.deadline
            )
        quotes = await self.repo.quotes_of([rfq.id])
        by_id = {q.id: q for q in quotes}
        return [
            QuoteView(quote=by_id[r.quote.quote_id], quantities=_quantities(rfq), rank=n, ranked=r)
            for n, r in enumerate(rank(rfq, quotes), start=1)
        ]
