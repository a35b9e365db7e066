"""Issuing documents: find the paper an object already has, or number and store a new one.

Each use case reads its object through the owning context's service with the caller's
principal — the same visibility as the object's own GET (another organization's object is
`NotFound`) — checks the paper can exist yet (`DocumentNotReady`, 409), and issues it once:
an advisory lock on the subject serialises concurrent first requests, then the issuer's
counter row hands out the next number in the same transaction as the document's insert.
Never commits: the controller does.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from collections.abc import Awaitable, Callable

import msgspec

from marketplace.accounts import OrganizationDirectory, OrganizationRecord, Principal
from marketplace.db import UnitOfWork
from marketplace.documents import subjects
from marketplace.documents.domain import DocumentFacts, DocumentKind, DocumentNotReady
from marketplace.documents.domain.numbering import document_number, issuer_code, series_of
from marketplace.documents.models import Document
from marketplace.documents.repository import DocumentRepository
from marketplace.errors import NotFound

TOKEN_BYTES = 16


class IssuedDocument(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    number: str
    public_token: str
    created_at: dt.datetime
    facts: DocumentFacts


def issued(document: Document) -> IssuedDocument:
    return IssuedDocument(
        id=document.id,
        number=document.number,
        public_token=document.public_token,
        created_at=document.created_at,
        facts=msgspec.convert(document.facts, DocumentFacts),
    )


class DocumentService:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.repo = DocumentRepository(uow.session)
        self.directory = OrganizationDirectory(uow)
        self.subjects = subjects.Subjects(uow)

    # --- the five papers ---------------------------------------------------------------

    async def delivery_note(self, principal: Principal, leg_id: uuid.UUID) -> IssuedDocument:
        leg = await self.subjects.leg(principal, leg_id)
        if leg.shipped_at is None:
            raise DocumentNotReady("A delivery note is issued once the leg has shipped.")
        return await self._issue(
            DocumentKind.DELIVERY_NOTE,
            leg_id,
            leg.supplier_organization_id,
            lambda: self.subjects.delivery_note_facts(leg),
        )

    async def goods_receipt(self, principal: Principal, leg_id: uuid.UUID) -> IssuedDocument:
        leg = await self.subjects.leg(principal, leg_id)
        if leg.delivered_at is None:
            raise DocumentNotReady("A goods receipt is issued once the buyer has received it.")
        return await self._issue(
            DocumentKind.GOODS_RECEIPT,
            leg_id,
            leg.supplier_organization_id,
            lambda: self.subjects.goods_receipt_facts(leg),
        )

    async def goods_receipts(
        self, principal: Principal, legs: list[tuple[uuid.UUID, uuid.UUID]]
    ) -> dict[uuid.UUID, IssuedDocument]:
        """The BAST of each (leg, supplier): those already issued read in one query, the
        others issued one by one as `goods_receipt` does (the same numbers either way)."""
        existing = await self.repo.of_subjects(DocumentKind.GOODS_RECEIPT, [leg for leg, _ in legs])
        found = {
            d.subject_id: issued(d)
            for d in existing
            if (d.subject_id, d.issuer_organization_id) in set(legs)
        }
        for leg_id, _supplier in legs:
            if leg_id not in found:
                found[leg_id] = await self.goods_receipt(principal, leg_id)
        return found

    async def order_invoices(
        self, principal: Principal, order_id: uuid.UUID
    ) -> list[IssuedDocument]:
        """One invoice per supplier of the order the caller may see: a supplier gets its
        own, the buyer every supplier's (one PDF, a page each). Issued once every leg of
        that supplier is delivered or cancelled (the amounts are final then)."""
        by_supplier = await self.subjects.order_legs_by_supplier(principal, order_id)
        ready = {
            supplier: legs for supplier, legs in by_supplier.items() if subjects.invoiceable(legs)
        }
        if not ready:
            raise DocumentNotReady(
                "An invoice is issued once the order's goods have been received.",
                order_id=order_id,
            )
        return [
            await self._issue(DocumentKind.INVOICE, order_id, supplier, self._invoice_of(legs))
            for supplier, legs in sorted(ready.items())
        ]

    def _invoice_of(
        self, legs: list[subjects.LegOfOrder]
    ) -> Callable[[], Awaitable[DocumentFacts]]:
        return lambda: self.subjects.invoice_facts(legs)

    async def po_invoice(self, principal: Principal, po_id: uuid.UUID) -> IssuedDocument:
        view = await self.subjects.purchase_order(principal, po_id)
        if view.invoice is None:
            raise DocumentNotReady("This purchase order has not been invoiced yet.")
        invoice = view.invoice
        return await self._issue(
            DocumentKind.PO_INVOICE,
            po_id,
            invoice.supplier_organization_id,
            lambda: self.subjects.po_invoice_facts(view),
        )

    async def consignment_statement(
        self, principal: Principal, statement_id: uuid.UUID
    ) -> IssuedDocument:
        found = await self.subjects.statement(principal, statement_id)
        return await self._issue(
            DocumentKind.CONSIGNMENT_STATEMENT,
            statement_id,
            found.statement.cooperative_id,
            lambda: self.subjects.statement_facts(found),
        )

    # --- verification ------------------------------------------------------------------

    async def verify(self, token: str) -> IssuedDocument:
        """The document a QR code's address names; anything else is not found."""
        found = await self.repo.by_token(token) if token.isascii() else None
        if found is None:
            raise NotFound("No such document.")
        return issued(found)

    # --- numbering ---------------------------------------------------------------------

    async def _issue(
        self,
        kind: DocumentKind,
        subject_id: uuid.UUID,
        issuer_id: uuid.UUID,
        facts_of: Callable[[], Awaitable[DocumentFacts]],
    ) -> IssuedDocument:
        existing = await self.repo.of_subject(kind, subject_id, issuer_id)
        if existing is not None:
            return issued(existing)
        await self.repo.lock_subject(kind, subject_id, issuer_id)
        existing = await self.repo.of_subject(kind, subject_id, issuer_id)
        if existing is not None:  # issued by a request we waited for
            return issued(existing)
        facts = await facts_of()
        issuer = await self._organization(issuer_id)
        series = series_of(kind)
        year = facts.issued_on.year
        sequence = await self.repo.next_sequence(issuer_id, series, year)
        document = Document(
            kind=kind,
            subject_id=subject_id,
            issuer_organization_id=issuer_id,
            counterparty_organization_id=facts.counterparty.organization_id,
            series=series,
            year=year,
            sequence=sequence,
            number=document_number(kind, issuer_code(issuer.slug), year, sequence),
            issued_on=facts.issued_on,
            total=facts.total,
            public_token=secrets.token_urlsafe(TOKEN_BYTES),
            facts=msgspec.to_builtins(facts),
            created_at=dt.datetime.now(dt.UTC),
        )
        await self.repo.add(document)
        return issued(document)

    async def _organization(self, organization_id: uuid.UUID) -> OrganizationRecord:
        found = await self.directory.get(organization_id)
        if found is None:
            raise NotFound("No such organization.")
        return found
