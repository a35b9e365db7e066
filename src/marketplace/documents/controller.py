"""HTTP endpoints of the documents context: each paper as a PDF on the object it is of.

A first request issues the document (a number, a verification token) and commits; every
later one answers the same document. Visibility is the object's own GET: another
organization's object is 404; a paper that can't exist yet (the BAST of a leg not
delivered) is 409 `documents.not_ready`. Any role of a party may download.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, QueryParameter

from marketplace.dependencies import Caller, UoW
from marketplace.documents.fortnight import ReportBundle, TwoWeeklyReportService
from marketplace.documents.fortnight_rendering import report_csv_response, report_pdf_response
from marketplace.documents.rendering import pdf_response
from marketplace.documents.schemas import (
    PDF_DESCRIPTION,
    PDF_MEDIA_TYPE,
    ReportedDeliveryOut,
    TwoWeeklyReportOut,
    pdf_responses,
)
from marketplace.documents.service import DocumentService
from marketplace.errors import BadRequest
from marketplace.http import problem_responses
from marketplace.orders import MIN_SUPPLIERS, BudgetService

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


class ReportScopeMissing(BadRequest):
    code = "documents.report_scope_missing"
    title = "Name a budget period, or the first and last day, of the report"


From = Annotated[
    dt.date | None,
    QueryParameter(name="from", description="First delivery date (kitchen's local)"),
]
To = Annotated[
    dt.date | None,
    QueryParameter(name="to", description="Last delivery date, at most 31 days on"),
]
Period = Annotated[
    uuid.UUID | None, QueryParameter(description="A budget period: its dates and envelope")
]
REPORT_DESCRIPTION = (
    "The kitchen's two-weekly report to BGN for a budget period (`period_id`) or a range "
    "of delivery dates (`from`, `to`, at most 31 days): every delivered leg with its BAST "
    "(issued now if it was not yet, with the same number as its own PDF), spend against "
    "the envelope, distinct suppliers against the programme's minimum of 15, and the "
    "shares bought from cooperatives and from UMKM of the kitchen's city."
)


async def report_bundle(
    uow: UoW,
    principal: Caller,
    kitchen_id: uuid.UUID,
    start: dt.date | None,
    end: dt.date | None,
    period_id: uuid.UUID | None,
) -> ReportBundle:
    service = TwoWeeklyReportService(uow)
    if period_id is not None:
        return await service.of_period(principal, kitchen_id, period_id)
    if start is None or end is None:
        # Another organization's kitchen is not found, whatever the query lacks.
        await BudgetService(uow).ensure_kitchen(principal, kitchen_id)
        raise ReportScopeMissing("Give `period_id`, or both `from` and `to`.")
    return await service.of_dates(principal, kitchen_id, start, end)


def _csv_responses() -> dict[int, Any]:
    return {
        **problem_responses(400, 401, 404, 422),
        200: ResponseSpec(
            data_container=bytes,
            description="One row per delivery: date, BAST number, supplier, goods, "
            "quantity, unit, unit price, amount, order and leg ids.",
            media_type="text/csv",
            generate_examples=False,
        ),
    }


def report_out(bundle: ReportBundle) -> TwoWeeklyReportOut:
    r = bundle.report
    return TwoWeeklyReportOut(
        kitchen_organization_id=r.kitchen_id,
        period_id=r.period_id,
        start_date=r.start,
        end_date=r.end,
        envelope=r.envelope,
        spent=r.spent,
        remaining=r.remaining,
        distinct_suppliers=r.suppliers,
        min_suppliers=MIN_SUPPLIERS,
        suppliers_missing=r.suppliers_missing,
        cooperative_amount=r.cooperatives,
        cooperative_share_permille=r.cooperative_share_tenths,
        local_umkm_amount=r.local_umkm,
        local_umkm_share_permille=r.local_umkm_share_tenths,
        deliveries=[
            ReportedDeliveryOut(
                leg_id=d.row.leg_id,
                order_id=d.row.order_id,
                delivery_date=d.row.delivery_date,
                supplier_organization_id=d.row.supplier_organization_id,
                supplier_name=d.supplier_name,
                product_id=d.row.product_id,
                product_name=d.product_name,
                delivered_quantity=d.row.delivered_quantity,
                unit_price=d.row.unit_price,
                amount=d.row.amount,
                bast_number=d.bast.number,
            )
            for d in bundle.deliveries
        ],
        currency="IDR",
    )


class KitchenReportController(Controller):
    path = "/v1/kitchens/{kitchen_id:uuid}/reports"
    tags = ["kitchen budgets"]

    @get(
        "/two-weekly",
        operation_id="getTwoWeeklyReport",
        summary="The two-weekly report's figures and deliveries, each with its BAST number",
        description=REPORT_DESCRIPTION + " Shares are in per mille of the spend.",
        responses=problem_responses(400, 401, 404, 422),
    )
    async def figures(
        self,
        kitchen_id: FromPath[uuid.UUID],
        uow: UoW,
        principal: Caller,
        start: From = None,
        end: To = None,
        period_id: Period = None,
    ) -> TwoWeeklyReportOut:
        bundle = await report_bundle(uow, principal, kitchen_id, start, end, period_id)
        await uow.commit()
        return report_out(bundle)

    @get(
        "/two-weekly.pdf",
        operation_id="getTwoWeeklyReportPdf",
        summary="The two-weekly report as a PDF: summary, list of deliveries, each BAST",
        description=REPORT_DESCRIPTION,
        media_type=PDF_MEDIA_TYPE,
        responses={**problem_responses(400, 401, 404, 422), **pdf_responses()},
    )
    async def pdf(
        self,
        kitchen_id: FromPath[uuid.UUID],
        uow: UoW,
        principal: Caller,
        request: PdfRequest,
        start: From = None,
        end: To = None,
        period_id: Period = None,
    ) -> Response[bytes]:
        bundle = await report_bundle(uow, principal, kitchen_id, start, end, period_id)
        await uow.commit()
        return report_pdf_response(bundle, _base(request))

    @get(
        "/two-weekly.csv",
        operation_id="getTwoWeeklyReportCsv",
        summary="The two-weekly report's deliveries as CSV, with their BAST numbers",
        description=REPORT_DESCRIPTION,
        media_type="text/csv",
        responses=_csv_responses(),
    )
    async def csv(
        self,
        kitchen_id: FromPath[uuid.UUID],
        uow: UoW,
        principal: Caller,
        start: From = None,
        end: To = None,
        period_id: Period = None,
    ) -> Response[bytes]:
        bundle = await report_bundle(uow, principal, kitchen_id, start, end, period_id)
        await uow.commit()
        return report_csv_response(bundle)
