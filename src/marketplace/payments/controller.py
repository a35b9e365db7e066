"""HTTP endpoints of the payments context."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, HeaderParameter, JSONBody

from marketplace.accounts import Principal
from marketplace.answers import from_row
from marketplace.dependencies import Caller, UoW
from marketplace.http import (
    DEFAULT_PAGE_SIZE,
    PageCursor,
    PageLimit,
    decode_id_cursor,
    paginate,
    problem_responses,
)
from marketplace.idempotency import IdempotencyKeyHeader, run_idempotent
from marketplace.payments.domain import (
    PaymentMethod,
)
from marketplace.payments.inbox_service import StripeInbox
from marketplace.payments.schemas import (
    BankTransferInstructions,
    PaymentConfirm,
    PaymentCreate,
    PaymentOut,
    PaymentPage,
    RefundConfirm,
    RefundOut,
    StripeWebhookAck,
)
from marketplace.payments.service import PaymentService, PaymentView, payment_id_for
from marketplace.payments.stripe_gateway import gateway_for, verify_webhook_signature

StripeSignature = Annotated[
    str | None,
    HeaderParameter(
        name="Stripe-Signature",
        description="Stripe's `t=<unix time>,v1=<hex HMAC-SHA256>` signature",
        required=False,
    ),
]

CREATE_DESCRIPTION = """\
Requires an `Idempotency-Key`; only the order's buyer pays. The amount is what the
order still owes (total less credits for short deliveries), in rupiah.

- `card`: creates and confirms a Stripe PaymentIntent with `payment_method` (a Stripe
  PaymentMethod id, e.g. `pm_card_visa` in test mode). A decline is recorded as a
  `failed` payment (201); pay again with another card. `requires_action` returns the
  `client_secret` for Stripe.js. Without Stripe configured → 422
  `payments.card_unavailable`.
- `bank_transfer`: returns `instructions` — a virtual account to transfer the exact
  amount into before `expires_at`. Finance confirms it when the money arrives.
- `treasury`: government buyers only; settled later by the treasury and confirmed by
  finance.

An order has at most one payment in progress or paid (409 `payments.already_open`).
"""


def payment_out(view: PaymentView, principal: Principal) -> PaymentOut:
    p = view.payment
    instructions = None
    if p.method == PaymentMethod.BANK_TRANSFER and p.virtual_account and p.expires_at:
        instructions = BankTransferInstructions(
            virtual_account=p.virtual_account,
            amount=p.amount,
            currency="IDR",
            expires_at=p.expires_at,
            note="Transfer exactly this amount to the virtual account before it expires.",
        )
    buyer_sees_secret = principal.organization_id == p.buyer_organization_id
    return from_row(
        PaymentOut,
        p,
        currency="IDR",
        client_secret=p.client_secret if buyer_sees_secret else None,
        instructions=instructions,
        refunds=[from_row(RefundOut, r, currency="IDR") for r in view.refunds],
    )


class PaymentController(Controller):
    path = "/v1"
    tags = ["payments"]

    @post(
        "/orders/{order_id:uuid}/payments",
        operation_id="createPayment",
        summary="Pay an order by card, bank transfer or treasury",
        description=CREATE_DESCRIPTION,
        responses=problem_responses(400, 401, 403, 404, 409, 422, 503),
    )
    async def create_payment(
        self,
        order_id: FromPath[uuid.UUID],
        data: JSONBody[PaymentCreate],
        uow: UoW,
        principal: Caller,
        request: Request[Any, Any, Any],
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response[PaymentOut]:
        service = PaymentService(uow, gateway_for(request.app.state.settings))
        # Another organization's order is 404 before anything else is looked at.
        await service.payable_order(principal, order_id)

        async def action() -> PaymentOut:
            assert idempotency_key is not None  # run_idempotent checked it
            payment_id = payment_id_for(principal.organization_id, idempotency_key)
            view = await service.create(principal, order_id, data, payment_id)
            return payment_out(view, principal)

        return await run_idempotent(
            uow,
            organization_id=principal.organization_id,
            key=idempotency_key,
            operation=f"payments.create:{order_id}",
            request=data,
            response_type=PaymentOut,
            action=action,
        )

    @get(
        "/orders/{order_id:uuid}/payments",
        operation_id="listOrderPayments",
        description=(
            "The payments of one order, newest first, each with its refunds. Visible to "
            "the order's buyer, its suppliers and the platform."
        ),
        summary="The payments of one order (its buyer, its suppliers, the platform)",
        responses=problem_responses(401, 404),
    )
    async def list_order_payments(
        self,
        order_id: FromPath[uuid.UUID],
        uow: UoW,
        principal: Caller,
        limit: PageLimit = DEFAULT_PAGE_SIZE,
        cursor: PageCursor = None,
    ) -> PaymentPage:
        views = await PaymentService(uow).of_order(
            principal, order_id, after=decode_id_cursor(cursor), limit=limit + 1
        )
        page, next_cursor = paginate(views, limit, lambda v: [v.payment.id])
        return PaymentPage(items=[payment_out(v, principal) for v in page], next_cursor=next_cursor)

    @get(
        "/payments/{payment_id:uuid}",
        operation_id="getPayment",
        description=(
            "One payment with its status, method, provider details (bank transfer "
            "instructions or card intent) and refunds. Visible to the order's buyer, its "
            "suppliers and the platform."
        ),
        summary="One payment with its refunds",
        responses=problem_responses(401, 404),
    )
    async def get_payment(
        self, payment_id: FromPath[uuid.UUID], uow: UoW, principal: Caller
    ) -> PaymentOut:
        return payment_out(await PaymentService(uow).view(principal, payment_id), principal)

    @post(
        "/payments/{payment_id:uuid}/confirm",
        operation_id="confirmPayment",
        summary="Record that a bank transfer or treasury payment arrived (finance)",
        description=(
            "For a finance (or admin) key of a supplier on the order, or of the platform. "
            "Repeating it with the same reference changes nothing; another reference → 409."
        ),
        status_code=200,
        responses=problem_responses(400, 401, 403, 404, 409),
    )
    async def confirm_payment(
        self,
        payment_id: FromPath[uuid.UUID],
        data: JSONBody[PaymentConfirm],
        uow: UoW,
        principal: Caller,
    ) -> PaymentOut:
        view = await PaymentService(uow).confirm(principal, payment_id, data.reference)
        await uow.commit()
        return payment_out(view, principal)

    @post(
        "/refunds/{refund_id:uuid}/confirm",
        operation_id="confirmRefund",
        description=(
            "A `finance` key of the order's supplier (or the platform) records that a "
            "bank refund was paid back to the buyer, with the transfer's reference. A "
            "card refund (Stripe completes those) or a refund not awaiting payment is 409"
            " `payments.not_confirmable`."
        ),
        summary="Record that a bank refund was paid back to the buyer (finance)",
        status_code=200,
        responses=problem_responses(400, 401, 403, 404, 409),
    )
    async def confirm_refund(
        self,
        refund_id: FromPath[uuid.UUID],
        data: JSONBody[RefundConfirm],
        uow: UoW,
        principal: Caller,
    ) -> PaymentOut:
        view = await PaymentService(uow).confirm_refund(principal, refund_id, data.reference)
        await uow.commit()
        return payment_out(view, principal)

    @post(
        "/payments/stripe/webhook",
        operation_id="receiveStripeWebhook",
        summary="Stripe's event notifications (signed with the webhook secret; no API key)",
        description=(
            "Verifies `Stripe-Signature` (5-minute tolerance), stores the event once by its "
            "id and answers at once; a worker applies it. Bad signature → 400, nothing "
            "stored."
        ),
        status_code=200,
        security=[{}],  # no API key: Stripe signs the body instead
        responses=problem_responses(400),
    )
    async def receive_stripe_webhook(
        self,
        request: Request[Any, Any, Any],
        uow: UoW,
        stripe_signature: StripeSignature = None,
    ) -> StripeWebhookAck:
        payload = await request.body()
        settings = request.app.state.settings
        verify_webhook_signature(payload, stripe_signature, settings.stripe_webhook_secret)
        received = await StripeInbox(uow).receive(payload)
        await uow.commit()
        return StripeWebhookAck(
            received=True, event_id=received.event_id, duplicate=received.duplicate
        )
