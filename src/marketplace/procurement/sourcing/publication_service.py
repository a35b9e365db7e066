"""Use case: publish the sourcing records as an OCDS release package.

Procurement records are public information, so any authenticated caller may read the
feed; quotes stay sealed until the deadline and only awarded prices are published. With
no release at or after `since` there is no package (OCDS 1.1 packages hold at least one
release): `release_package` answers None and the API 204.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from marketplace.accounts import OrganizationDirectory, Principal
from marketplace.db import UnitOfWork
from marketplace.procurement.sourcing import domain
from marketplace.procurement.sourcing.domain import RfqStatus, ocds
from marketplace.procurement.sourcing.fulfilment_service import po_lines
from marketplace.procurement.sourcing.models import (
    GoodsReceipt,
    Invoice,
    PurchaseOrder,
    Quote,
    Rfq,
    TreasuryPayment,
)
from marketplace.procurement.sourcing.repository import SourcingRepository
from marketplace.procurement.sourcing.service import now, rfq_items


class PublicationService:
    def __init__(self, uow: UnitOfWork) -> None:
        self.repo = SourcingRepository(uow.session)
        self.directory = OrganizationDirectory(uow)

    async def release_package(
        self,
        principal: Principal,
        *,
        since: dt.datetime | None,
        limit: int,
        uri: str,
        publisher_uri: str | None,
        rfq_id: uuid.UUID | None = None,
    ) -> dict[str, Any] | None:
        moment = now()
        rfqs = await self.repo.rfqs_released_since(since, moment, limit, rfq_id)
        if not rfqs:
            return None
        ids = [r.id for r in rfqs]
        quotes: dict[uuid.UUID, list[Quote]] = {i: [] for i in ids}
        for q in await self.repo.quotes_of(ids):
            quotes[q.rfq_id].append(q)
        pos: dict[uuid.UUID, list[PurchaseOrder]] = {i: [] for i in ids}
        all_pos = await self.repo.purchase_orders_of(ids)
        for po in all_pos:
            pos[po.rfq_id].append(po)
        po_ids = [po.id for po in all_pos]
        receipts: dict[uuid.UUID, list[GoodsReceipt]] = {i: [] for i in po_ids}
        for r in await self.repo.receipts_of(po_ids):
            receipts[r.purchase_order_id].append(r)
        payments: dict[uuid.UUID, list[TreasuryPayment]] = {i: [] for i in po_ids}
        for p in await self.repo.payments_of(po_ids):
            payments[p.purchase_order_id].append(p)
        invoices = {i.id: i for i in await self.repo.invoices_of(po_ids)}
        org_ids = sorted(
            {r.buyer_organization_id for r in rfqs}
            | {q.supplier_organization_id for qs in quotes.values() for q in qs}
        )
        orgs = await self.directory.get_many(org_ids)
        parties = {
            o.id: ocds.Party(
                id=o.id, name=o.name, region_code=o.region_code, city=o.city, npwp=o.npwp
            )
            for o in orgs.values()
        }
        processes = [
            _process(r, quotes[r.id], pos[r.id], receipts, payments, invoices, moment) for r in rfqs
        ]
        return ocds.build_package(
            processes, parties, uri=uri, published_at=moment, publisher_uri=publisher_uri
        )


def _process(
    rfq: Rfq,
    quotes: list[Quote],
    pos: list[PurchaseOrder],
    receipts: dict[uuid.UUID, list[GoodsReceipt]],
    payments: dict[uuid.UUID, list[TreasuryPayment]],
    invoices: dict[uuid.UUID, Invoice],
    moment: dt.datetime,
) -> ocds.Process:
    status = domain.effective_rfq_status(RfqStatus(rfq.status), rfq.deadline, moment)
    sealed = status is RfqStatus.OPEN
    released_at = rfq.changed_at if sealed else max(rfq.changed_at, rfq.deadline)
    items = rfq_items(rfq)
    return ocds.Process(
        rfq_id=rfq.id,
        title=rfq.title,
        status=status.value,
        buyer_id=rfq.buyer_organization_id,
        published_at=rfq.created_at,
        deadline=rfq.deadline,
        released_at=released_at,
        budget_code=rfq.budget_code,
        ceiling_amount=rfq.ceiling_amount,
        items=tuple(
            ocds.Item(
                line_no=i.line_no,
                description=i.description,
                quantity=i.quantity,
                unit_code=i.unit_code,
                unit_label=i.unit_label,
                category=i.category,
            )
            for i in items
        ),
        tenderer_ids=None
        if sealed
        else tuple(q.supplier_organization_id for q in sorted(quotes, key=lambda q: q.id)),
        awards=tuple(
            ocds.Award(
                id=po.id,
                supplier_id=po.supplier_organization_id,
                status=po.status,
                created_at=po.created_at,
                subtotal=po.subtotal,
                vat=po.vat,
                pph22=po.pph22,
                total=po.total,
                net_payable=po.net_payable,
                items=tuple(
                    ocds.Item(
                        line_no=line.line_no,
                        description=line.description,
                        quantity=line.quantity,
                        unit_code=line.unit_code,
                        unit_label=next(i.unit_label for i in items if i.line_no == line.line_no),
                        category=next(i.category for i in items if i.line_no == line.line_no),
                        unit_price=line.unit_price,
                    )
                    for line in po_lines(po)
                ),
                receipts=tuple(
                    ocds.Receipt(
                        id=r.id, document_number=r.document_number, recorded_at=r.created_at
                    )
                    for r in receipts[po.id]
                ),
                payments=tuple(
                    ocds.Payment(
                        id=p.id,
                        sp2d_number=p.sp2d_number,
                        recorded_at=p.created_at,
                        amount=p.amount,
                        invoice_id=p.invoice_id,
                        invoice_total=invoices[p.invoice_id].total,
                        pph22=invoices[p.invoice_id].pph22,
                    )
                    for p in payments[po.id]
                ),
            )
            for po in pos
        ),
    )
