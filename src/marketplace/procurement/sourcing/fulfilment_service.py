"""Use cases after the award: read purchase orders, goods receipts (BAST), the invoice
and the treasury payment (SP2D).

Money: the invoice posts `postings.government_invoice` (the office owes subtotal + VAT
less the PPh 22 its treasurer withholds; the supplier is credited subtotal and VAT and
debited the withholding), and the payment posts `postings.payment_received` for exactly
the net payable, which brings the office's receivable back to zero. Both in the same
transaction as the state change.
"""

from __future__ import annotations

import uuid

import msgspec

from marketplace import outbox
from marketplace.accounts import Principal, Role
from marketplace.db import UnitOfWork
from marketplace.errors import Conflict, NotFound, PermissionDenied
from marketplace.ids import new_id
from marketplace.ledger import LedgerService, postings
from marketplace.procurement.sourcing import domain
from marketplace.procurement.sourcing.domain import (
    InvalidReceipt,
    PoLine,
    PurchaseOrderEvent,
    PurchaseOrderStatus,
)
from marketplace.procurement.sourcing.domain.events import (
    GoodsReceived,
    InvoiceIssued,
    ReceivedLine,
    TreasuryPaymentRecorded,
)
from marketplace.procurement.sourcing.models import (
    GoodsReceipt,
    Invoice,
    PurchaseOrder,
    TreasuryPayment,
)
from marketplace.procurement.sourcing.repository import SourcingRepository
from marketplace.procurement.sourcing.schemas import ReceiptCreate, TreasuryPaymentCreate
from marketplace.procurement.sourcing.service import now


class AlreadyInvoiced(Conflict):
    code = "procurement.already_invoiced"
    title = "This purchase order has already been invoiced"


class Sp2dReused(Conflict):
    code = "procurement.sp2d_reused"
    title = "This SP2D number was already recorded"


class PurchaseOrderView(msgspec.Struct, frozen=True, kw_only=True):
    po: PurchaseOrder
    receipts: list[GoodsReceipt]
    invoice: Invoice | None


class InvoiceView(msgspec.Struct, frozen=True, kw_only=True):
    invoice: Invoice
    payment: TreasuryPayment | None


def po_lines(po: PurchaseOrder) -> list[PoLine]:
    return msgspec.convert(po.lines, list[PoLine])


def _party(principal: Principal, po: PurchaseOrder) -> str | None:
    if principal.organization_id == po.buyer_organization_id:
        return "buyer"
    if principal.organization_id == po.supplier_organization_id:
        return "supplier"
    return None


class FulfilmentService:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.repo = SourcingRepository(uow.session)
        self.ledger = LedgerService(uow)

    # --- reading -----------------------------------------------------------------------

    async def _visible(self, principal: Principal, po_id: uuid.UUID) -> PurchaseOrder:
        po = await self.repo.purchase_order(po_id)
        if po is None or not principal.is_party(
            po.buyer_organization_id, po.supplier_organization_id
        ):
            raise NotFound("No such purchase order.")
        return po

    async def _views(self, pos: list[PurchaseOrder]) -> list[PurchaseOrderView]:
        ids = [po.id for po in pos]
        receipts: dict[uuid.UUID, list[GoodsReceipt]] = {i: [] for i in ids}
        for r in await self.repo.receipts_of(ids):
            receipts[r.purchase_order_id].append(r)
        invoices = {i.purchase_order_id: i for i in await self.repo.invoices_of(ids)}
        return [
            PurchaseOrderView(po=po, receipts=receipts[po.id], invoice=invoices.get(po.id))
            for po in pos
        ]

    async def get(self, principal: Principal, po_id: uuid.UUID) -> PurchaseOrderView:
        return (await self._views([await self._visible(principal, po_id)]))[0]

    async def list_orders(
        self,
        principal: Principal,
        *,
        status: PurchaseOrderStatus | None,
        after: uuid.UUID | None,
        limit: int,
    ) -> list[PurchaseOrderView]:
        pos = await self.repo.purchase_orders_page(
            scope=principal.scope,
            status=status.value if status else None,
            after=after,
            limit=limit,
        )
        return await self._views(pos)

    async def invoice_of(self, principal: Principal, po_id: uuid.UUID) -> InvoiceView:
        po = await self._visible(principal, po_id)
        invoices = await self.repo.invoices_of([po.id])
        if not invoices:
            raise NotFound("This purchase order has no invoice yet.")
        payments = await self.repo.payments_of([po.id])
        return InvoiceView(invoice=invoices[0], payment=payments[0] if payments else None)

    async def ensure_buyer(self, principal: Principal, po_id: uuid.UUID) -> None:
        """404 unless the caller is the purchase order's office."""
        po = await self._visible(principal, po_id)
        if _party(principal, po) != "buyer":
            raise NotFound("No such purchase order.")

    # --- changes -----------------------------------------------------------------------

    async def _lock(self, principal: Principal, po_id: uuid.UUID) -> PurchaseOrder:
        """Authorize on an unlocked read, then lock the RFQ and the purchase order (in
        that order, like awards and declines) and bump the RFQ's change time."""
        found = await self._visible(principal, po_id)
        rfq = await self.repo.rfq(found.rfq_id, lock="update")
        po = await self.repo.purchase_order(po_id, for_update=True)
        assert rfq is not None
        assert po is not None
        rfq.changed_at = now()
        return po

    async def receive(
        self, principal: Principal, po_id: uuid.UUID, data: ReceiptCreate
    ) -> PurchaseOrderView:
        """The office's goods receipt (BAST); partial receipts add up to the order."""
        po = await self._visible(principal, po_id)
        if _party(principal, po) != "buyer":
            raise NotFound("No such purchase order.")
        principal.require_role(Role.PROCUREMENT)
        po = await self._lock(principal, po_id)
        line_nos = [line.line_no for line in data.lines]
        if len(set(line_nos)) != len(line_nos):
            raise InvalidReceipt("Name each line once.", lines=sorted(line_nos))
        current = PurchaseOrderStatus(po.status)
        if current not in (PurchaseOrderStatus.ISSUED, PurchaseOrderStatus.PARTIALLY_RECEIVED):
            domain.next_po_status(current, PurchaseOrderEvent.RECEIVE_PART)  # raises 409
        lines = domain.apply_receipt(
            po_lines(po), {line.line_no: line.quantity for line in data.lines}
        )
        po.status = domain.next_po_status(current, domain.receipt_event(lines))
        po.lines = msgspec.to_builtins(lines)
        receipt = GoodsReceipt(
            purchase_order_id=po.id,
            document_number=data.document_number,
            received_on=data.received_on,
            lines=[{"line_no": line.line_no, "quantity": line.quantity} for line in data.lines],
            note=data.note,
            recorded_by_api_key_id=principal.api_key_id,
            recorded_by_person_id=principal.person_id,
        )
        self.repo.add(receipt)
        await self.repo.flush()
        outbox.emit(
            self.uow,
            GoodsReceived(
                purchase_order_id=po.id,
                receipt_id=receipt.id,
                status=PurchaseOrderStatus(po.status),
                lines=[ReceivedLine(**line) for line in receipt.lines],
            ),
            organization_id=po.supplier_organization_id,
        )
        return (await self._views([po]))[0]

    async def invoice(self, principal: Principal, po_id: uuid.UUID) -> InvoiceView:
        """Invoice what was received: VAT per line treatment, PPh 22 withheld."""
        po = await self._visible(principal, po_id)
        party = _party(principal, po)
        if party is None:
            raise PermissionDenied("Only the supplier or the office issues the invoice.")
        principal.require_role(
            Role.SELLER if party == "supplier" else Role.PROCUREMENT, Role.FINANCE
        )
        po = await self._lock(principal, po_id)
        existing = await self.repo.invoices_of([po.id])
        if existing:
            raise AlreadyInvoiced(
                "This purchase order has already been invoiced.", invoice_id=existing[0].id
            )
        current = PurchaseOrderStatus(po.status)
        new_status = domain.next_po_status(current, PurchaseOrderEvent.INVOICE)
        lines = po_lines(po)
        totals = domain.invoice_totals(lines)
        invoice_id = new_id()
        posted = await self.ledger.post(
            postings.government_invoice(
                invoice_id,
                po.buyer_organization_id,
                po.supplier_organization_id,
                subtotal=totals.subtotal,
                vat=totals.vat,
                pph22=totals.pph22,
            )
        )
        invoiced = [line for line in lines if line.received_quantity > 0]
        invoice = Invoice(
            id=invoice_id,
            purchase_order_id=po.id,
            buyer_organization_id=po.buyer_organization_id,
            supplier_organization_id=po.supplier_organization_id,
            lines=[
                {
                    "line_no": line.line_no,
                    "description": line.description,
                    "quantity": line.received_quantity,
                    "unit_price": line.unit_price,
                    "amount": amount,
                    "vat_treatment": line.vat_treatment.value,
                }
                for line, amount in zip(invoiced, totals.line_amounts, strict=True)
            ],
            subtotal=totals.subtotal,
            taxable_base=totals.taxable_base,
            exempt_base=totals.exempt_base,
            dpp=totals.dpp,
            vat=totals.vat,
            pph22=totals.pph22,
            total=totals.total,
            net_payable=totals.net_payable,
            ledger_transaction_id=posted.transaction_id,
            issued_by_organization_id=principal.organization_id,
        )
        self.repo.add(invoice)
        po.status = new_status
        await self.repo.flush()
        issued = InvoiceIssued(
            purchase_order_id=po.id,
            invoice_id=invoice.id,
            issued_by_organization_id=principal.organization_id,
            subtotal=invoice.subtotal,
            vat=invoice.vat,
            total=invoice.total,
            pph22=invoice.pph22,
            net_payable=invoice.net_payable,
        )
        for org in sorted({po.buyer_organization_id, po.supplier_organization_id}):
            outbox.emit(self.uow, issued, organization_id=org)
        return InvoiceView(invoice=invoice, payment=None)

    async def pay(
        self, principal: Principal, po_id: uuid.UUID, data: TreasuryPaymentCreate
    ) -> InvoiceView:
        """The office's finance records the treasury payment (SP2D) of the net payable."""
        po = await self._visible(principal, po_id)
        if _party(principal, po) != "buyer":
            raise NotFound("No such purchase order.")
        principal.require_role(Role.FINANCE)
        po = await self._lock(principal, po_id)
        new_status = domain.next_po_status(PurchaseOrderStatus(po.status), PurchaseOrderEvent.PAY)
        invoice = (await self.repo.invoices_of([po.id]))[0]
        domain.check_payment(data.amount, invoice.net_payable)
        if await self.repo.payment_by_sp2d(po.buyer_organization_id, data.sp2d_number):
            raise Sp2dReused("This SP2D number was already recorded.", sp2d_number=data.sp2d_number)
        payment_id = new_id()
        posted = await self.ledger.post(
            postings.payment_received(payment_id, po.buyer_organization_id, data.amount)
        )
        payment = TreasuryPayment(
            id=payment_id,
            invoice_id=invoice.id,
            purchase_order_id=po.id,
            sp2d_number=data.sp2d_number,
            paid_on=data.paid_on,
            amount=data.amount,
            ledger_transaction_id=posted.transaction_id,
            recorded_by_api_key_id=principal.api_key_id,
            recorded_by_person_id=principal.person_id,
            buyer_organization_id=po.buyer_organization_id,
        )
        self.repo.add(payment)
        po.status = new_status
        await self.repo.flush()
        recorded = TreasuryPaymentRecorded(
            purchase_order_id=po.id,
            invoice_id=invoice.id,
            payment_id=payment.id,
            sp2d_number=payment.sp2d_number,
            paid_on=payment.paid_on,
            amount=payment.amount,
        )
        for org in sorted({po.buyer_organization_id, po.supplier_organization_id}):
            outbox.emit(self.uow, recorded, organization_id=org)
        return InvoiceView(invoice=invoice, payment=payment)
