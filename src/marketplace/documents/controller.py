"""HTTP endpoints of the documents context: each paper as a PDF on the object it is of.

A first request issues the document (a number, a verification token) and commits; every
later one answers the same document. Visibility is the object's own GET: another
organization's object is 404; a paper that can't exist yet (the BAST of a leg not
delivered) is 409 `documents.not_ready`. Any role of a party may download.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.datastructures import State
from litestar.params import FromPath

from marketplace.dependencies import Caller, UoW
from marketplace.documents.rendering import pdf_response
from marketplace.documents.schemas import PDF_DESCRIPTION, PDF_MEDIA_TYPE, pdf_responses
from marketplace.documents.service import DocumentService
from marketplace.http import problem_responses

PdfRequest = Request[Any, Any, State]


def _responses() -> dict[int, Any]:
    return {**problem_responses(401, 404, 409), **pdf_responses()}


def _base(request: PdfRequest) -> str:
    return str(request.base_url)


class DocumentController(Controller):
    path = "/v1"
    tags = ["documents"]

    @get(
        "/legs/{leg_id:uuid}/delivery-note/document.pdf",
        operation_id="getDeliveryNoteDocument",
        summary="The leg's surat jalan (delivery note) as a PDF, once it has shipped",
        description=PDF_DESCRIPTION,
        media_type=PDF_MEDIA_TYPE,
        responses=_responses(),
    )
    async def delivery_note(
        self, leg_id: FromPath[uuid.UUID], uow: UoW, principal: Caller, request: PdfRequest
    ) -> Response[bytes]:
        document = await DocumentService(uow).delivery_note(principal, leg_id)
        await uow.commit()
        return pdf_response([document], _base(request))

    @get(
        "/legs/{leg_id:uuid}/goods-receipt/document.pdf",
        operation_id="getGoodsReceiptDocument",
        summary="The leg's BAST (goods receipt) as a PDF, once the buyer has received it",
        description=PDF_DESCRIPTION,
        media_type=PDF_MEDIA_TYPE,
        responses=_responses(),
    )
    async def goods_receipt(
        self, leg_id: FromPath[uuid.UUID], uow: UoW, principal: Caller, request: PdfRequest
    ) -> Response[bytes]:
        document = await DocumentService(uow).goods_receipt(principal, leg_id)
        await uow.commit()
        return pdf_response([document], _base(request))

    @get(
        "/orders/{order_id:uuid}/invoice/document.pdf",
        operation_id="getOrderInvoiceDocument",
        summary="The order's invoice as a PDF: one per supplier whose legs are all received "
        "(a supplier gets its own; the buyer every supplier's, a page each)",
        description=PDF_DESCRIPTION,
        media_type=PDF_MEDIA_TYPE,
        responses=_responses(),
    )
    async def order_invoice(
        self, order_id: FromPath[uuid.UUID], uow: UoW, principal: Caller, request: PdfRequest
    ) -> Response[bytes]:
        documents = await DocumentService(uow).order_invoices(principal, order_id)
        await uow.commit()
        return pdf_response(documents, _base(request))

    @get(
        "/procurement/purchase-orders/{po_id:uuid}/invoice/document.pdf",
        operation_id="getPurchaseOrderInvoiceDocument",
        summary="A government purchase order's invoice (PPN, PPh 22) as a PDF, once invoiced",
        description=PDF_DESCRIPTION,
        media_type=PDF_MEDIA_TYPE,
        responses=_responses(),
    )
    async def po_invoice(
        self, po_id: FromPath[uuid.UUID], uow: UoW, principal: Caller, request: PdfRequest
    ) -> Response[bytes]:
        document = await DocumentService(uow).po_invoice(principal, po_id)
        await uow.commit()
        return pdf_response([document], _base(request))

    @get(
        "/consignment/statements/{statement_id:uuid}/document.pdf",
        operation_id="getConsignmentStatementDocument",
        summary="A consignment statement (laporan konsinyasi) as a PDF",
        description=PDF_DESCRIPTION,
        media_type=PDF_MEDIA_TYPE,
        responses=_responses(),
    )
    async def statement(
        self, statement_id: FromPath[uuid.UUID], uow: UoW, principal: Caller, request: PdfRequest
    ) -> Response[bytes]:
        document = await DocumentService(uow).consignment_statement(principal, statement_id)
        await uow.commit()
        return pdf_response([document], _base(request))
