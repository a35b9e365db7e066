"""What each paper is of, read through the owning context's service with the caller's
principal (the object's own GET rules), and the facts a new document is issued with.

Rows of other contexts are copied into this module's Structs (`from_attributes`), so
nothing here depends on another context's tables.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence

import msgspec

from marketplace.accounts import OrganizationDirectory, OrganizationRecord, Principal
from marketplace.consignment import SettlementService
from marketplace.db import UnitOfWork
from marketplace.documents.domain import DocumentFacts, DocumentKind, Fact, Line, Party, TaxLine
from marketplace.documents.domain.amounts import PricedQuantity, rupiah, totals_of
from marketplace.errors import NotFound
from marketplace.listings import ProductService
from marketplace.orders import OrderService
from marketplace.procurement import FulfilmentService, PurchaseOrderView
from marketplace.tax import DPP_DENOMINATOR, DPP_NUMERATOR, VAT_RATE_PERCENT

VAT_LABEL = f"PPN {VAT_RATE_PERCENT}% (DPP {DPP_NUMERATOR}/{DPP_DENOMINATOR})"


class OrderRow(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    buyer_organization_id: uuid.UUID
    delivery_date: dt.date
    delivery_address: str
    delivery_region_code: str
    created_at: dt.datetime


class LegRow(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    order_id: uuid.UUID
    kind: str
    status: str
    product_id: uuid.UUID
    supplier_organization_id: uuid.UUID
    quantity: int
    shipped_quantity: int | None
    delivered_quantity: int | None
    unit_price: int
    vat_treatment: str
    shipped_at: dt.datetime | None
    delivered_at: dt.datetime | None
    receipt_note: str | None


class LegOfOrder(msgspec.Struct, frozen=True, kw_only=True):
    order: OrderRow
    leg: LegRow

    @property
    def shipped_at(self) -> dt.datetime | None:
        return self.leg.shipped_at

    @property
    def delivered_at(self) -> dt.datetime | None:
        return self.leg.delivered_at

    @property
    def supplier_organization_id(self) -> uuid.UUID:
        return self.leg.supplier_organization_id


class StatementRow(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    cooperative_id: uuid.UUID
    consignor_id: uuid.UUID
    cutoff: dt.datetime
    created_at: dt.datetime
    opening_balance: int
    gross_sales: int
    commission: int
    net_sales: int
    returns_count: int
    returns_quantity: int
    adjustments_total: int
    payout_due: int
    closing_balance: int


class SaleRow(msgspec.Struct, frozen=True, kw_only=True):
    product_id: uuid.UUID
    quantity: int
    unit_price: int
    gross_amount: int
    commission_amount: int
    sold_at: dt.datetime


class PayoutAccount(msgspec.Struct, frozen=True, kw_only=True):
    bank_name: str
    bank_account_number: str
    bank_account_holder: str


class StatementOf(msgspec.Struct, frozen=True, kw_only=True):
    statement: StatementRow
    sales: list[SaleRow]
    payout: PayoutAccount | None


def invoiceable(legs: Sequence[LegOfOrder]) -> bool:
    """Every leg delivered or cancelled, one at least delivered: the amounts are final."""
    statuses = {found.leg.status for found in legs}
    return statuses <= {"delivered", "cancelled"} and "delivered" in statuses


def _party(organization: OrganizationRecord) -> Party:
    return Party(
        organization_id=organization.id,
        name=organization.name,
        npwp=organization.npwp,
        city=organization.city,
    )


def _vat_lines(vat: int) -> list[TaxLine]:
    return [TaxLine(VAT_LABEL, vat)] if vat else []


class Subjects:
    def __init__(self, uow: UnitOfWork) -> None:
        self.orders = OrderService(uow)
        self.directory = OrganizationDirectory(uow)
        self.products = ProductService(uow)
        self.settlements = SettlementService(uow)
        self.fulfilment = FulfilmentService(uow)

    # --- reading, with the owning context's visibility ---------------------------------

    async def leg(self, principal: Principal, leg_id: uuid.UUID) -> LegOfOrder:
        facts = await self.orders.leg_facts(leg_id)
        if facts is None:
            raise NotFound("No such leg.")
        try:
            view = await self.orders.view(principal, facts.order_id)
        except NotFound:
            raise NotFound("No such leg.") from None
        for leg in view.legs:
            if leg.id == leg_id:
                return LegOfOrder(
                    order=msgspec.convert(view.order, OrderRow, from_attributes=True),
                    leg=msgspec.convert(leg, LegRow, from_attributes=True),
                )
        raise NotFound("No such leg.")

    async def order_legs_by_supplier(
        self, principal: Principal, order_id: uuid.UUID
    ) -> dict[uuid.UUID, list[LegOfOrder]]:
        view = await self.orders.view(principal, order_id)
        order = msgspec.convert(view.order, OrderRow, from_attributes=True)
        found: dict[uuid.UUID, list[LegOfOrder]] = defaultdict(list)
        for leg in view.legs:
            row = msgspec.convert(leg, LegRow, from_attributes=True)
            found[row.supplier_organization_id].append(LegOfOrder(order=order, leg=row))
        return dict(found)

    async def purchase_order(self, principal: Principal, po_id: uuid.UUID) -> PurchaseOrderView:
        return await self.fulfilment.get(principal, po_id)

    async def statement(self, principal: Principal, statement_id: uuid.UUID) -> StatementOf:
        statement, payout, sales, _returns, _adjustments = await self.settlements.statement(
            principal, statement_id
        )
        return StatementOf(
            statement=msgspec.convert(statement, StatementRow, from_attributes=True),
            sales=[msgspec.convert(s, SaleRow, from_attributes=True) for s in sales],
            payout=msgspec.convert(payout, PayoutAccount, from_attributes=True) if payout else None,
        )

    # --- the facts a new document is issued with ---------------------------------------

    async def _parties(
        self, issuer_id: uuid.UUID, other_id: uuid.UUID
    ) -> tuple[OrganizationRecord, OrganizationRecord]:
        found = await self.directory.get_many([issuer_id, other_id])
        if issuer_id not in found or other_id not in found:
            raise NotFound("No such organization.")
        return found[issuer_id], found[other_id]

    async def _names(self, product_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, tuple[str, str]]:
        products = await self.products.get_many(product_ids)
        return {pid: (p.name, p.unit_label) for pid, p in products.items()}

    def _order_head(self, order: OrderRow, issuer: OrganizationRecord) -> list[Fact]:
        return [
            Fact("No. pesanan", str(order.id)),
            Fact("Tanggal pesan", issuer.local_date(order.created_at).strftime("%d-%m-%Y")),
            Fact("Tanggal antar", order.delivery_date.strftime("%d-%m-%Y")),
            Fact("Alamat kirim", f"{order.delivery_address} ({order.delivery_region_code})"),
        ]

    async def _leg_document(
        self, found: LegOfOrder, kind: DocumentKind, quantity: int, moment: dt.datetime
    ) -> DocumentFacts:
        leg = found.leg
        issuer, buyer = await self._parties(
            leg.supplier_organization_id, found.order.buyer_organization_id
        )
        names = await self._names([leg.product_id])
        name, unit = names.get(leg.product_id, ("?", ""))
        totals = totals_of(
            [
                PricedQuantity(
                    quantity=quantity, unit_price=leg.unit_price, vat_treatment=leg.vat_treatment
                )
            ]
        )
        note = None
        head = self._order_head(found.order, issuer)
        if kind is DocumentKind.GOODS_RECEIPT:
            shipped = leg.shipped_quantity if leg.shipped_quantity is not None else leg.quantity
            note = f"dikirim {shipped}, diterima {quantity}"
            if leg.receipt_note:
                head.append(Fact("Catatan penerimaan", leg.receipt_note))
        return DocumentFacts(
            kind=kind,
            issuer=_party(issuer),
            counterparty=_party(buyer),
            counterparty_role="Penerima",
            issued_on=issuer.local_date(moment),
            head=head,
            lines=[
                Line(
                    description=name,
                    quantity=quantity,
                    unit=unit,
                    unit_price=leg.unit_price,
                    amount=totals.subtotal,
                    note=note,
                )
            ],
            subtotal=totals.subtotal,
            tax_lines=_vat_lines(totals.vat),
            total=totals.total,
            signatures=["Pengirim", "Penerima"]
            if kind is DocumentKind.DELIVERY_NOTE
            else ["Yang menyerahkan", "Yang menerima"],
            order_id=found.order.id if kind is DocumentKind.DELIVERY_NOTE else None,
        )

    async def delivery_note_facts(self, found: LegOfOrder) -> DocumentFacts:
        assert found.leg.shipped_at is not None
        shipped = found.leg.shipped_quantity
        quantity = shipped if shipped is not None else found.leg.quantity
        return await self._leg_document(
            found, DocumentKind.DELIVERY_NOTE, quantity, found.leg.shipped_at
        )

    async def goods_receipt_facts(self, found: LegOfOrder) -> DocumentFacts:
        assert found.leg.delivered_at is not None
        received = found.leg.delivered_quantity or 0
        return await self._leg_document(
            found, DocumentKind.GOODS_RECEIPT, received, found.leg.delivered_at
        )

    async def invoice_facts(self, legs: Sequence[LegOfOrder]) -> DocumentFacts:
        delivered = [
            f.leg for f in legs if f.leg.status == "delivered" and f.leg.delivered_quantity
        ]
        order = legs[0].order
        issuer, buyer = await self._parties(
            legs[0].leg.supplier_organization_id, order.buyer_organization_id
        )
        names = await self._names(leg.product_id for leg in delivered)
        totals = totals_of(
            [
                PricedQuantity(
                    quantity=leg.delivered_quantity or 0,
                    unit_price=leg.unit_price,
                    vat_treatment=leg.vat_treatment,
                )
                for leg in delivered
            ]
        )
        moments = [f.leg.delivered_at for f in legs if f.leg.delivered_at is not None]
        return DocumentFacts(
            kind=DocumentKind.INVOICE,
            issuer=_party(issuer),
            counterparty=_party(buyer),
            counterparty_role="Pembeli",
            issued_on=issuer.local_date(max(moments)),
            head=self._order_head(order, issuer),
            lines=[
                Line(
                    description=names.get(leg.product_id, ("?", ""))[0],
                    quantity=leg.delivered_quantity or 0,
                    unit=names.get(leg.product_id, ("?", ""))[1],
                    unit_price=leg.unit_price,
                    amount=amount,
                )
                for leg, amount in zip(delivered, totals.line_amounts, strict=True)
            ],
            subtotal=totals.subtotal,
            tax_lines=_vat_lines(totals.vat),
            total=totals.total,
            signatures=["Hormat kami"],
        )

    async def po_invoice_facts(self, view: PurchaseOrderView) -> DocumentFacts:
        invoice = view.invoice
        assert invoice is not None
        issuer, office = await self._parties(
            invoice.supplier_organization_id, invoice.buyer_organization_id
        )
        units = {line["line_no"]: line.get("unit_code", "") for line in view.po.lines}
        taxes = _vat_lines(invoice.vat)
        withheld = (
            [TaxLine("PPh 22 dipungut bendahara (1,5%)", -invoice.pph22)] if invoice.pph22 else []
        )
        return DocumentFacts(
            kind=DocumentKind.PO_INVOICE,
            issuer=_party(issuer),
            counterparty=_party(office),
            counterparty_role="Pembeli (instansi)",
            issued_on=issuer.local_date(invoice.created_at),
            head=[
                Fact("No. surat pesanan", str(view.po.id)),
                Fact("Tanggal antar", view.po.delivery_date.strftime("%d-%m-%Y")),
                Fact("DPP nilai lain", rupiah(invoice.dpp)),
            ],
            lines=[
                Line(
                    description=str(line["description"]),
                    quantity=int(line["quantity"]),
                    unit=str(units.get(line["line_no"], "")),
                    unit_price=int(line["unit_price"]),
                    amount=int(line["amount"]),
                    note="bebas PPN" if line.get("vat_treatment") == "exempt" else None,
                )
                for line in invoice.lines
            ],
            subtotal=invoice.subtotal,
            tax_lines=taxes,
            total=invoice.total,
            withholdings=withheld,
            net_payable=invoice.net_payable,
            signatures=["Hormat kami"],
        )

    async def statement_facts(self, found: StatementOf) -> DocumentFacts:
        s = found.statement
        issuer, consignor = await self._parties(s.cooperative_id, s.consignor_id)
        names = await self._names(sale.product_id for sale in found.sales)
        head = [
            Fact("Periode sampai", issuer.local_date(s.cutoff).strftime("%d-%m-%Y")),
            Fact("Barang dikembalikan", f"{s.returns_count} kali, {s.returns_quantity} unit"),
        ]
        if found.payout is not None:
            p = found.payout
            head.append(
                Fact(
                    "Rekening",
                    f"{p.bank_name} {p.bank_account_number} a.n. {p.bank_account_holder}",
                )
            )
        taxes = [TaxLine("Komisi koperasi", -s.commission)]
        if s.opening_balance:
            taxes.append(TaxLine("Saldo awal", s.opening_balance))
        if s.adjustments_total:
            taxes.append(TaxLine("Penyesuaian", s.adjustments_total))
        if s.closing_balance:
            taxes.append(TaxLine("Saldo dibawa ke laporan berikutnya", -s.closing_balance))
        return DocumentFacts(
            kind=DocumentKind.CONSIGNMENT_STATEMENT,
            issuer=_party(issuer),
            counterparty=_party(consignor),
            counterparty_role="Konsinyor (UMKM)",
            issued_on=issuer.local_date(s.created_at),
            head=head,
            lines=[
                Line(
                    description=names.get(sale.product_id, ("?", ""))[0],
                    quantity=sale.quantity,
                    unit=names.get(sale.product_id, ("?", ""))[1],
                    unit_price=sale.unit_price,
                    amount=sale.gross_amount,
                    note=f"terjual {issuer.local_date(sale.sold_at).strftime('%d-%m-%Y')}, "
                    f"komisi {rupiah(sale.commission_amount)}",
                )
                for sale in found.sales
            ],
            subtotal=s.gross_sales,
            tax_lines=taxes,
            total=s.payout_due,
            total_label="Dibayarkan ke konsinyor",
            signatures=["Koperasi", "Konsinyor"],
        )
