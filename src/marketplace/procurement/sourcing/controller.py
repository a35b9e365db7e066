"""HTTP endpoints of government sourcing: RFQs, quotes, awards, purchase orders, OCDS."""

from __future__ import annotations

import urllib.parse
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, Parameter
from litestar.status_codes import HTTP_204_NO_CONTENT

from marketplace.answers import from_row
from marketplace.dates import INSTANT_TEXT, Instant
from marketplace.dependencies import Caller, UoW
from marketplace.errors import BadRequest
from marketplace.http import (
    DEFAULT_PAGE_SIZE,
    PageCursor,
    PageLimit,
    decode_id_cursor,
    paginate,
    problem_responses,
)
from marketplace.idempotency import IdempotencyKeyHeader, run_idempotent
from marketplace.procurement.sourcing.award_service import AwardService, DeclineResult
from marketplace.procurement.sourcing.domain import PurchaseOrderStatus, RfqStatus
from marketplace.procurement.sourcing.fulfilment_service import (
    FulfilmentService,
    InvoiceView,
    PurchaseOrderView,
)
from marketplace.procurement.sourcing.models import PurchaseOrder, TreasuryPayment
from marketplace.procurement.sourcing.publication_service import PublicationService
from marketplace.procurement.sourcing.schemas import (
    AwardCreate,
    DeclineIn,
    DeclineOut,
    InvoiceLineOut,
    InvoiceOut,
    PoLineOut,
    PurchaseOrderOut,
    PurchaseOrderPage,
    QuoteCreate,
    QuoteLineOut,
    QuoteList,
    QuoteOut,
    ReceiptCreate,
    ReceiptLineIn,
    ReceiptOut,
    RfqCreate,
    RfqDeliveryOut,
    RfqItemOut,
    RfqOut,
    RfqPage,
    TreasuryPaymentCreate,
    TreasuryPaymentOut,
)
from marketplace.procurement.sourcing.service import QuoteView, RfqService, RfqView, rfq_items


def rfq_out(view: RfqView) -> RfqOut:
    r = view.rfq
    return RfqOut(
        id=r.id,
        buyer_organization_id=r.buyer_organization_id,
        title=r.title,
        status=view.status,
        items=[
            RfqItemOut(
                line_no=i.line_no,
                product_id=i.product_id,
                description=i.description,
                quantity=i.quantity,
                unit_code=i.unit_code,
                unit_label=i.unit_label,
                category=i.category,
                vat_treatment=i.vat_treatment,
            )
            for i in rfq_items(r)
        ],
        delivery=RfqDeliveryOut(
            date=r.delivery_date, region_code=r.delivery_region_code, address=r.delivery_address
        ),
        budget_code=r.budget_code,
        deadline=r.deadline,
        evaluation_rule=r.evaluation_rule,
        ceiling_amount=r.ceiling_amount,
        currency="IDR",
        quote_count=view.quote_count,
        purchase_order_id=view.purchase_order_id,
        created_at=r.created_at,
    )


def quote_out(view: QuoteView) -> QuoteOut:
    q = view.quote
    return from_row(
        QuoteOut,
        q,
        lines=[
            QuoteLineOut(line_no=int(n), unit_price=p, amount=p * view.quantities.get(int(n), 0))
            for n, p in sorted(q.unit_prices.items(), key=lambda kv: int(kv[0]))
        ],
        currency="IDR",
        rank=view.rank,
        compliant=view.ranked.compliant if view.ranked else None,
        non_compliance=list(view.ranked.reasons) if view.ranked else None,
    )


def po_out(po: PurchaseOrder, view: PurchaseOrderView | None = None) -> PurchaseOrderOut:
    return from_row(
        PurchaseOrderOut,
        po,
        lines=[
            msgspec.convert({**line, "amount": line["quantity"] * line["unit_price"]}, PoLineOut)
            for line in po.lines
        ],
        currency="IDR",
        receipts=[
            from_row(ReceiptOut, r, lines=[ReceiptLineIn(**line) for line in r.lines])
            for r in (view.receipts if view else [])
        ],
        invoice_id=view.invoice.id if view and view.invoice else None,
    )


def payment_out(p: TreasuryPayment) -> TreasuryPaymentOut:
    return from_row(TreasuryPaymentOut, p, currency="IDR")


def invoice_out(view: InvoiceView) -> InvoiceOut:
    return from_row(
        InvoiceOut,
        view.invoice,
        lines=[InvoiceLineOut(**line) for line in view.invoice.lines],
        currency="IDR",
        payment=payment_out(view.payment) if view.payment else None,
    )


def decline_out(result: DeclineResult) -> DeclineOut:
    return DeclineOut(
        declined=po_out(result.declined),
        next_purchase_order=po_out(result.next_purchase_order)
        if result.next_purchase_order
        else None,
        rfq_status=result.rfq_status,
    )


class SourcingController(Controller):
    path = "/v1/procurement"
    tags = ["government sourcing"]

    # --- RFQs --------------------------------------------------------------------------

    @post(
        "/rfqs",
        operation_id="publishRfq",
        summary="A procurement office publishes a request for quotation",
        description="Cooperatives delivering to the RFQ's city see it and may quote until "
        "the (timezone-aware) deadline.",
        responses=problem_responses(401, 403, 422),
    )
    async def publish_rfq(self, data: JSONBody[RfqCreate], uow: UoW, principal: Caller) -> RfqOut:
        view = await RfqService(uow).publish(principal, data)
        await uow.commit()
        return rfq_out(view)

    @get(
        "/rfqs",
        operation_id="listRfqs",
        description=(
            "Requests for quotation: an office sees its own; a cooperative those of its "
            "city (`status=open` lists the ones it can still quote on)."
        ),
        summary="RFQs: an office's own; a cooperative's city's (`status=open` to quote)",
        responses=problem_responses(401),
    )
    async def list_rfqs(
        self,
        uow: UoW,
        principal: Caller,
        status: Annotated[RfqStatus | None, Parameter()] = None,
        limit: PageLimit = DEFAULT_PAGE_SIZE,
        cursor: PageCursor = None,
    ) -> RfqPage:
        views = await RfqService(uow).list_rfqs(
            principal, status=status, after=decode_id_cursor(cursor), limit=limit + 1
        )
        page, next_cursor = paginate(views, limit, lambda r: [r.rfq.id])
        return RfqPage(
            items=[rfq_out(v) for v in page],
            next_cursor=next_cursor,
        )

    @get(
        "/rfqs/{rfq_id:uuid}",
        operation_id="getRfq",
        description=("One RFQ with its items, delivery terms, deadline and evaluation rule."),
        summary="One RFQ",
        responses=problem_responses(401, 404),
    )
    async def get_rfq(self, rfq_id: FromPath[uuid.UUID], uow: UoW, principal: Caller) -> RfqOut:
        return rfq_out(await RfqService(uow).get(principal, rfq_id))

    # --- quotes ------------------------------------------------------------------------

    @post(
        "/rfqs/{rfq_id:uuid}/quotes",
        operation_id="submitQuote",
        summary="A cooperative quotes (or re-quotes) unit prices for every item",
        description="One quote per cooperative per RFQ: submitting again before the "
        "deadline replaces the earlier quote. After the deadline, or once awarded → 409.",
        responses=problem_responses(401, 403, 404, 409, 422),
    )
    async def submit_quote(
        self,
        rfq_id: FromPath[uuid.UUID],
        data: JSONBody[QuoteCreate],
        uow: UoW,
        principal: Caller,
    ) -> QuoteOut:
        view = await RfqService(uow).submit_quote(principal, rfq_id, data)
        await uow.commit()
        return quote_out(view)

    @get(
        "/rfqs/{rfq_id:uuid}/quotes",
        operation_id="listQuotes",
        description=(
            "The quotes of an RFQ. The office sees all of them, ranked, once the deadline"
            " has passed (before, 409 `procurement.rfq_still_open`); a cooperative sees "
            "only its own."
        ),
        summary="Quotes: the office sees all, ranked, after the deadline; a cooperative its own",
        responses=problem_responses(401, 404, 409),
    )
    async def list_quotes(
        self, rfq_id: FromPath[uuid.UUID], uow: UoW, principal: Caller
    ) -> QuoteList:
        views = await RfqService(uow).quotes(principal, rfq_id)
        return QuoteList(items=[quote_out(v) for v in views])

    # --- award -------------------------------------------------------------------------

    @post(
        "/rfqs/{rfq_id:uuid}/award",
        operation_id="awardRfq",
        summary="Award the lowest compliant quote (or a named one, with a reason)",
        description="Requires an `Idempotency-Key`. Creates the purchase order (surat "
        "pesanan) with VAT and PPh 22. An RFQ that is already awarded → 409.",
        responses=problem_responses(401, 403, 404, 409, 422),
    )
    async def award(
        self,
        rfq_id: FromPath[uuid.UUID],
        data: JSONBody[AwardCreate],
        uow: UoW,
        principal: Caller,
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response[PurchaseOrderOut]:
        # Another organization's RFQ is 404 whether or not a key was sent.
        await AwardService(uow).ensure_owner(principal, rfq_id)

        async def action() -> PurchaseOrderOut:
            return po_out(await AwardService(uow).award(principal, rfq_id, data))

        return await run_idempotent(
            uow,
            organization_id=principal.organization_id,
            key=idempotency_key,
            operation="procurement.award",
            request={"rfq_id": str(rfq_id), "body": data},
            response_type=PurchaseOrderOut,
            action=action,
        )

    # --- purchase orders ---------------------------------------------------------------

    @get(
        "/purchase-orders",
        operation_id="listPurchaseOrders",
        description=(
            "Government purchase orders (surat pesanan) you issued (an office) or "
            "received (a supplier), newest first. `status` filters."
        ),
        summary="Purchase orders you issued or received, newest first",
        responses=problem_responses(401),
    )
    async def list_purchase_orders(
        self,
        uow: UoW,
        principal: Caller,
        status: Annotated[PurchaseOrderStatus | None, Parameter()] = None,
        limit: PageLimit = DEFAULT_PAGE_SIZE,
        cursor: PageCursor = None,
    ) -> PurchaseOrderPage:
        views = await FulfilmentService(uow).list_orders(
            principal, status=status, after=decode_id_cursor(cursor), limit=limit + 1
        )
        page, next_cursor = paginate(views, limit, lambda r: [r.po.id])
        return PurchaseOrderPage(
            items=[po_out(v.po, v) for v in page],
            next_cursor=next_cursor,
        )

    @get(
        "/purchase-orders/{po_id:uuid}",
        operation_id="getPurchaseOrder",
        description=(
            "One purchase order with its lines and goods receipts (BAST). Visible to the "
            "office, the supplier and the platform."
        ),
        summary="One purchase order with its goods receipts",
        responses=problem_responses(401, 404),
    )
    async def get_purchase_order(
        self, po_id: FromPath[uuid.UUID], uow: UoW, principal: Caller
    ) -> PurchaseOrderOut:
        view = await FulfilmentService(uow).get(principal, po_id)
        return po_out(view.po, view)

    @post(
        "/purchase-orders/{po_id:uuid}/decline",
        operation_id="declinePurchaseOrder",
        description=(
            "The awarded supplier's `seller` key declines a purchase order with a reason;"
            " the award cascades to the next-lowest compliant quote, which gets a new "
            "purchase order. A purchase order already received is 409 "
            "`state.invalid_transition`."
        ),
        summary="The awarded supplier declines; the award cascades to the next-lowest quote",
        status_code=200,
        responses=problem_responses(401, 403, 404, 409),
    )
    async def decline(
        self, po_id: FromPath[uuid.UUID], data: JSONBody[DeclineIn], uow: UoW, principal: Caller
    ) -> DeclineOut:
        result = await AwardService(uow).decline(principal, po_id, data.reason)
        await uow.commit()
        return decline_out(result)

    @post(
        "/purchase-orders/{po_id:uuid}/receipts",
        operation_id="recordGoodsReceipt",
        description=(
            "The office's `procurement` key records a goods receipt (BAST) of delivered "
            "units; partial receipts add up. Receiving more than ordered is 422 "
            "`procurement.receipt_exceeds_order`."
        ),
        summary="The office records a goods receipt (BAST); partial receipts add up",
        responses=problem_responses(401, 403, 404, 409, 422),
    )
    async def receive(
        self,
        po_id: FromPath[uuid.UUID],
        data: JSONBody[ReceiptCreate],
        uow: UoW,
        principal: Caller,
    ) -> PurchaseOrderOut:
        view = await FulfilmentService(uow).receive(principal, po_id, data)
        await uow.commit()
        return po_out(view.po, view)

    @post(
        "/purchase-orders/{po_id:uuid}/invoice",
        operation_id="issueInvoice",
        summary="Invoice the received quantities: VAT per line, PPh 22 withheld, net payable",
        description="Once per purchase order (again → 409 `procurement.already_invoiced`), on "
        "what the goods receipts (BAST) recorded: before any receipt → 422 "
        "`procurement.nothing_received`. Posted to the ledger.",
        responses=problem_responses(401, 403, 404, 409, 422),
    )
    async def issue_invoice(
        self, po_id: FromPath[uuid.UUID], uow: UoW, principal: Caller
    ) -> InvoiceOut:
        view = await FulfilmentService(uow).invoice(principal, po_id)
        await uow.commit()
        return invoice_out(view)

    @get(
        "/purchase-orders/{po_id:uuid}/invoice",
        operation_id="getInvoice",
        description=(
            "The purchase order's invoice (VAT per line, PPh 22 withheld, net payable) "
            "and its treasury payment once recorded."
        ),
        summary="The purchase order's invoice and its payment",
        responses=problem_responses(401, 404),
    )
    async def get_invoice(
        self, po_id: FromPath[uuid.UUID], uow: UoW, principal: Caller
    ) -> InvoiceOut:
        return invoice_out(await FulfilmentService(uow).invoice_of(principal, po_id))

    @post(
        "/purchase-orders/{po_id:uuid}/payments",
        operation_id="recordTreasuryPayment",
        summary="The office's finance records the treasury payment (SP2D) of the net payable",
        description="Requires an `Idempotency-Key`. The amount must equal the invoice's net "
        "payable. Posted to the ledger.",
        responses=problem_responses(401, 403, 404, 409, 422),
    )
    async def record_payment(
        self,
        po_id: FromPath[uuid.UUID],
        data: JSONBody[TreasuryPaymentCreate],
        uow: UoW,
        principal: Caller,
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response[InvoiceOut]:
        await FulfilmentService(uow).ensure_buyer(principal, po_id)

        async def action() -> InvoiceOut:
            return invoice_out(await FulfilmentService(uow).pay(principal, po_id, data))

        return await run_idempotent(
            uow,
            organization_id=principal.organization_id,
            key=idempotency_key,
            operation="procurement.treasury_payment",
            request={"purchase_order_id": str(po_id), "body": data},
            response_type=InvoiceOut,
            action=action,
        )

    # --- OCDS --------------------------------------------------------------------------

    @get(
        "/ocds/releases",
        operation_id="getOcdsReleasePackage",
        summary="Open Contracting (OCDS 1.1) release package of sourcing processes",
        description="The current release of every process whose release is at or after "
        "`since`, oldest first. Poll with the last release's `date` as `since`; releases "
        "are identified by `id`, so a repeated one can be dropped. With no release to "
        "publish the answer is 204 No Content with no body: an OCDS 1.1 release package "
        "must hold at least one release (`minItems: 1`), so an empty one would be invalid. "
        "Amounts: `tender.value` is the owner's estimate before VAT; award and contract "
        "`value` the purchase order with VAT (`x_valueBreakdown` itemises it); a "
        "transaction is the treasury's payment, the invoice net of PPh 22 (`x_invoice`).",
        responses={
            200: ResponseSpec(
                data_container=dict[str, Any],
                description="An OCDS 1.1 release package of at least one release",
                generate_examples=False,
            ),
            204: ResponseSpec(
                data_container=None, description="Nothing released at or after `since`"
            ),
            **problem_responses(401),
        },
    )
    async def ocds_releases(
        self,
        request: Request[Any, Any, Any],
        uow: UoW,
        principal: Caller,
        since: Annotated[
            Instant | None,
            Parameter(description=f"Releases at or after this moment; {INSTANT_TEXT}"),
        ] = None,
        limit: Annotated[int, Parameter(ge=1, le=500, description="At most this many")] = 100,
    ) -> Response[dict[str, Any] | None]:
        if since is not None and since.tzinfo is None:
            raise BadRequest("`since` must carry a time zone offset.", parameter="since")
        base = str(request.base_url).rstrip("/")
        query = urllib.parse.urlencode(
            {k: v for k, v in {"since": since.isoformat() if since else None}.items() if v}
        )
        uri = f"{base}{request.url.path}" + (f"?{query}" if query else "")
        package = await PublicationService(uow).release_package(
            principal, since=since, limit=limit, uri=uri, publisher_uri=base
        )
        if package is None:
            return Response(content=None, status_code=HTTP_204_NO_CONTENT)
        return Response(content=package)
