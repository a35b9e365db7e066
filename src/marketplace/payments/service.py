"""Use cases of the payments context. Callers own the transaction (see `marketplace.db`).

`PaymentService` pays orders, records bank/treasury money, refunds, and applies what the
provider tells us. Every status change goes through `_advance`, which only ever moves a
payment up `domain.STATUS_RANK` and posts the ledger transactions and outbox events of
the step, so the same facts in any order give the same payment, books and events.
Locks: the payment row first, then its refund — in every path.
"""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec
import structlog

from marketplace import outbox
from marketplace.accounts import OrganizationKind, Principal, Role
from marketplace.db import UnitOfWork
from marketplace.errors import NotFound, PermissionDenied
from marketplace.ids import new_id
from marketplace.ledger import LedgerService
from marketplace.ledger.domain import postings
from marketplace.money import from_stripe_minor_units
from marketplace.orders.service import OrderService, OrderView
from marketplace.payments.domain import (
    BANK_TRANSFER_VALIDITY,
    IN_FLIGHT_STATUSES,
    OPEN_STATUSES,
    CardUnavailable,
    MissingPaymentMethod,
    NotConfirmable,
    NothingToPay,
    OrderNotPayable,
    PaymentAlreadyOpen,
    PaymentMethod,
    PaymentStatus,
    ProviderRejected,
    ProviderUnavailable,
    ReferenceMismatch,
    RefundChannel,
    RefundStatus,
    StripeUpdate,
    TreasuryNotAllowed,
    advances,
    crossed_success,
    refund_channel,
    virtual_account_number,
)
from marketplace.payments.domain.events import PAYMENT_EVENTS
from marketplace.payments.domain.gateway import GatewayRejected, GatewayUnavailable, PaymentGateway
from marketplace.payments.models import Payment, Refund
from marketplace.payments.repository import PaymentRepository
from marketplace.payments.schemas import PaymentCreate

log = structlog.get_logger(__name__)

SUBMIT_REFUND_JOB = "payments.submit_refund"
CANCEL_CARD_JOB = "payments.cancel_card"
PAYMENT_ID_NAMESPACE = uuid.UUID("0b6f8e1e-5f43-4f5e-9d43-7a1c0f2a9a51")


def payment_id_for(organization_id: uuid.UUID, idempotency_key: str) -> uuid.UUID:
    """The payment id of a create request: the same (organization, Idempotency-Key) always
    names the same payment, so a retry after a provider time-out reuses the provider's
    idempotency key (``payment:{id}:create``) and can't charge twice."""
    return uuid.uuid5(PAYMENT_ID_NAMESPACE, f"{organization_id}:{idempotency_key}")


def submit_refund_job_id(refund_id: uuid.UUID) -> str:
    return f"{SUBMIT_REFUND_JOB}:{refund_id}"


def cancel_card_job_id(payment_id: uuid.UUID) -> str:
    return f"{CANCEL_CARD_JOB}:{payment_id}"


class PaymentView(msgspec.Struct, frozen=True, kw_only=True):
    payment: Payment
    refunds: list[Refund]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class PaymentService:
    def __init__(self, uow: UnitOfWork, gateway: PaymentGateway | None = None) -> None:
        self.uow = uow
        self.gateway = gateway
        self.payments = PaymentRepository(uow.session)
        self.ledger = LedgerService(uow)

    # --- paying -----------------------------------------------------------------------

    async def create(
        self, principal: Principal, order_id: uuid.UUID, data: PaymentCreate, payment_id: uuid.UUID
    ) -> PaymentView:
        # The order's payment lock first, then a fresh read of the order: a cancel that
        # committed before is seen here; one committing after waits in `on_order_cancelled`
        # for this transaction and then finds this payment to refund or void.
        await self.payments.lock_order_payments(order_id)
        self.uow.session.expire_all()
        view = await self.payable_order(principal, order_id)
        order = view.order
        method = PaymentMethod(data.method)
        if method is PaymentMethod.TREASURY and (
            principal.organization_kind is not OrganizationKind.GOVERNMENT
        ):
            raise TreasuryNotAllowed(
                "Treasury payments are for government buyers.",
                organization_kind=principal.organization_kind.value,
            )
        if method is PaymentMethod.CARD:
            if self.gateway is None:
                raise CardUnavailable(
                    "Card payments need Stripe: set STRIPE_API_KEY to a real key (or "
                    "STRIPE_API_BASE to a Stripe-compatible server). Pay by bank_transfer "
                    "or treasury meanwhile.",
                    method=method.value,
                )
            if not data.payment_method:
                raise MissingPaymentMethod(
                    "Give the Stripe PaymentMethod id (e.g. pm_card_visa in test mode).",
                    field="payment_method",
                )
        elif data.payment_method is not None:
            raise MissingPaymentMethod(
                "payment_method is only for card payments.", field="payment_method"
            )
        if order.status == "cancelled":
            raise OrderNotPayable("A cancelled order can't be paid.", status=order.status)
        amount = order.total - order.credited_total
        if amount <= 0:
            raise NothingToPay(
                "Nothing is owed on this order.",
                total=order.total,
                credited_total=order.credited_total,
            )
        existing = await self.payments.open_of_order(order_id, [s.value for s in OPEN_STATUSES])
        if existing is not None:
            raise PaymentAlreadyOpen(
                "The order already has a payment in progress or paid.",
                payment_id=existing.id,
                status=existing.status,
            )
        now = _now()
        payment = Payment(
            id=payment_id,
            order_id=order_id,
            buyer_organization_id=order.buyer_organization_id,
            payee_organization_ids=sorted({leg.supplier_organization_id for leg in view.legs}),
            method=method,
            status=PaymentStatus.PENDING,
            amount=amount,
            fee=0,
            refunded_amount=0,
            created_by_api_key_id=principal.api_key_id,
            created_at=now,
            updated_at=now,
        )
        if method is PaymentMethod.BANK_TRANSFER:
            payment.virtual_account = virtual_account_number(payment_id)
            payment.expires_at = now + BANK_TRANSFER_VALIDITY
        self.payments.add(payment)
        await self.payments.flush()
        if method is PaymentMethod.CARD:
            await self._charge_card(payment, data.payment_method or "")
        return PaymentView(payment=payment, refunds=[])

    async def payable_order(self, principal: Principal, order_id: uuid.UUID) -> OrderView:
        """The order `principal` may pay: another organization's order is missing (404)
        whatever the caller's role; a party that isn't the buyer is refused (403)."""
        view = await OrderService(self.uow).view(principal, order_id)
        principal.require_role(Role.BUYER)
        if view.order.buyer_organization_id != principal.organization_id:
            raise PermissionDenied("Only the order's buyer pays for it.")
        return view

    async def _charge_card(self, payment: Payment, payment_method: str) -> None:
        assert self.gateway is not None
        try:
            charge = await self.gateway.charge_card(
                payment_id=payment.id,
                order_id=payment.order_id,
                amount=payment.amount,
                payment_method=payment_method,
                idempotency_key=f"payment:{payment.id}:create",
            )
        except GatewayUnavailable as exc:
            raise ProviderUnavailable(str(exc), payment_id=payment.id) from exc
        except GatewayRejected as exc:
            raise ProviderRejected(str(exc), provider_code=exc.code) from exc
        payment.provider_payment_id = charge.provider_payment_id
        payment.client_secret = charge.client_secret
        await self._advance(
            payment,
            PaymentStatus(charge.status),
            failure_code=charge.failure_code,
            failure_message=charge.failure_message,
        )
        await self.payments.flush()

    # --- reading ----------------------------------------------------------------------

    async def view(self, principal: Principal, payment_id: uuid.UUID) -> PaymentView:
        payment = await self.payments.get(payment_id)
        if payment is None or not principal.is_party(
            payment.buyer_organization_id, *payment.payee_organization_ids
        ):
            raise NotFound("No such payment.")
        return PaymentView(
            payment=payment, refunds=await self.payments.refunds_of_payments([payment.id])
        )

    async def of_order(
        self, principal: Principal, order_id: uuid.UUID, *, after: uuid.UUID | None, limit: int
    ) -> list[PaymentView]:
        await OrderService(self.uow).view(principal, order_id)  # 404 when not visible
        payments = await self.payments.of_order(order_id, after=after, limit=limit)
        refunds: dict[uuid.UUID, list[Refund]] = {p.id: [] for p in payments}
        for refund in await self.payments.refunds_of_payments([p.id for p in payments]):
            refunds[refund.payment_id].append(refund)
        return [PaymentView(payment=p, refunds=refunds[p.id]) for p in payments]

    # --- finance records money that arrived or left by transfer -----------------------

    async def confirm(
        self, principal: Principal, payment_id: uuid.UUID, reference: str
    ) -> PaymentView:
        payment = await self.payments.get(payment_id, for_update=True)
        if payment is None or not principal.is_party(
            payment.buyer_organization_id, *payment.payee_organization_ids
        ):
            raise NotFound("No such payment.")
        _require_confirmer(principal, payment)
        if payment.method == PaymentMethod.CARD:
            raise NotConfirmable("Card payments are confirmed by Stripe.", method=payment.method)
        status = PaymentStatus(payment.status)
        if status in (PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED):
            if payment.confirmation_reference != reference:
                raise ReferenceMismatch(
                    "This payment was already confirmed with another reference.",
                    confirmation_reference=payment.confirmation_reference,
                )
        elif status in (PaymentStatus.PENDING, PaymentStatus.CANCELLED):
            payment.confirmation_reference = reference
            payment.confirmed_by_api_key_id = principal.api_key_id
            await self._advance(payment, PaymentStatus.SUCCEEDED)
        else:
            raise NotConfirmable(f"A {status.value} payment can't be confirmed.", status=status)
        await self.payments.flush()
        return await self.view(principal, payment_id)

    async def confirm_refund(
        self, principal: Principal, refund_id: uuid.UUID, reference: str
    ) -> PaymentView:
        found = await self.payments.get_refund(refund_id)
        payment = None
        if found is not None:
            payment = await self.payments.get(found.payment_id, for_update=True)
        if payment is None or not principal.is_party(
            payment.buyer_organization_id, *payment.payee_organization_ids
        ):
            raise NotFound("No such refund.")
        _require_confirmer(principal, payment)
        refund = await self.payments.get_refund(refund_id, for_update=True)
        assert refund is not None
        if refund.channel != RefundChannel.BANK:
            raise NotConfirmable("Card refunds are completed by Stripe.", channel=refund.channel)
        if refund.status == RefundStatus.SUCCEEDED:
            if refund.reference != reference:
                raise ReferenceMismatch(
                    "This refund was already confirmed with another reference.",
                    reference=refund.reference,
                )
        elif refund.status == RefundStatus.PENDING:
            refund.reference = reference
            await self._complete_refund(payment, refund)
        else:
            raise NotConfirmable(f"A {refund.status} refund can't be confirmed.")
        await self.payments.flush()
        return await self.view(principal, payment.id)

    # --- reacting to orders -----------------------------------------------------------

    async def on_order_cancelled(self, order_id: uuid.UUID) -> None:
        """Refund what was paid; void instructions nobody has paid yet; ask Stripe to
        cancel a card payment still in flight (should it succeed anyway, it is refunded
        at once)."""
        await self.payments.lock_order_payments(order_id)  # waits for a payment being made
        now = _now()
        for payment in await self.payments.of_order(order_id, for_update=True):
            if payment.order_cancelled_at is None:
                payment.order_cancelled_at = now
            status = PaymentStatus(payment.status)
            if status is PaymentStatus.SUCCEEDED:
                await self._grant_refund(payment, reason="order_cancelled")
            elif status in IN_FLIGHT_STATUSES:
                if payment.method == PaymentMethod.CARD and payment.provider_payment_id:
                    self._schedule(CANCEL_CARD_JOB, payment.id, cancel_card_job_id(payment.id))
                elif payment.method != PaymentMethod.CARD:
                    await self._advance(payment, PaymentStatus.CANCELLED)
        await self.payments.flush()

    async def cancel_card(self, payment_id: uuid.UUID) -> str:
        """Cancel an in-flight card payment of a cancelled order at Stripe (worker side)."""
        payment = await self.payments.get(payment_id, for_update=True)
        if payment is None:
            return "missing"
        if (
            payment.method != PaymentMethod.CARD
            or payment.provider_payment_id is None
            or PaymentStatus(payment.status) not in IN_FLIGHT_STATUSES
        ):
            return "nothing_to_cancel"
        if self.gateway is None:
            raise GatewayUnavailable("Card payments need Stripe to be configured.")
        try:
            status = await self.gateway.cancel_card(
                provider_payment_id=payment.provider_payment_id,
                idempotency_key=f"payment:{payment.id}:cancel",
            )
        except GatewayRejected:
            # Too late to cancel (it is succeeding): Stripe's event will bring the
            # success, and a success on a cancelled order is refunded at once.
            return "rejected"
        await self._advance(payment, PaymentStatus(status))
        await self.payments.flush()
        return status

    # --- refunds ----------------------------------------------------------------------

    async def _grant_refund(
        self, payment: Payment, *, reason: str, provider_refund_id: str | None = None
    ) -> Refund:
        """The refund of `payment` in full, once: its row and the ledger's `refund`."""
        existing = await self.payments.refund_of_payment(payment.id, for_update=True)
        if existing is not None:
            return existing
        channel = refund_channel(PaymentMethod(payment.method))
        refund = Refund(
            id=new_id(),
            payment_id=payment.id,
            buyer_organization_id=payment.buyer_organization_id,
            channel=channel,
            status=RefundStatus.PENDING,
            amount=payment.amount,
            reason=reason,
            provider_refund_id=provider_refund_id,
            created_at=_now(),
            updated_at=_now(),
        )
        self.payments.add(refund)
        await self.payments.flush()
        await self.ledger.post(
            postings.refund(refund.id, payment.buyer_organization_id, refund.amount)
        )
        if channel is RefundChannel.STRIPE and provider_refund_id is None:
            self._schedule(SUBMIT_REFUND_JOB, refund.id, submit_refund_job_id(refund.id))
        return refund

    def _schedule(self, job: str, object_id: uuid.UUID, job_id: str) -> None:
        jobs = self.uow.jobs
        if jobs is None:  # no queue here: the payments sweep enqueues it
            return

        async def enqueue() -> None:
            await jobs.enqueue(job, str(object_id), job_id=job_id)

        self.uow.after_commit(enqueue)

    async def submit_refund(self, refund_id: uuid.UUID) -> str:
        """Ask Stripe to refund (worker side). Idempotent: the provider's idempotency key
        is derived from our refund id, and a submitted refund is never sent again."""
        found = await self.payments.get_refund(refund_id)
        if found is None:
            return "missing"
        payment = await self.payments.get(found.payment_id, for_update=True)
        refund = await self.payments.get_refund(refund_id, for_update=True)
        assert payment is not None
        assert refund is not None
        if refund.status != RefundStatus.PENDING or refund.provider_refund_id is not None:
            return "already_submitted"
        if refund.channel != RefundChannel.STRIPE or payment.provider_payment_id is None:
            return "not_a_card_refund"
        if self.gateway is None:
            raise GatewayUnavailable("Card refunds need Stripe to be configured.")
        try:
            result = await self.gateway.refund(
                refund_id=refund.id,
                provider_payment_id=payment.provider_payment_id,
                amount=refund.amount,
                idempotency_key=f"refund:{refund.id}:create",
            )
        except GatewayRejected as exc:
            await self._fail_refund(refund, str(exc))
            await self.payments.flush()
            return "rejected"
        refund.provider_refund_id = result.provider_refund_id
        status = RefundStatus(result.status)
        if status is RefundStatus.SUCCEEDED:
            await self._complete_refund(payment, refund)
        elif status is RefundStatus.FAILED:
            await self._fail_refund(refund, "The provider refused the refund.")
        await self.payments.flush()
        return status.value

    async def _complete_refund(self, payment: Payment, refund: Refund) -> None:
        refund.status = RefundStatus.SUCCEEDED
        refund.completed_at = _now()
        await self.ledger.post(
            postings.refund_paid(refund.id, payment.buyer_organization_id, refund.amount)
        )
        payment.refunded_amount = max(payment.refunded_amount, refund.amount)
        await self._advance(payment, PaymentStatus.REFUNDED)

    async def _fail_refund(self, refund: Refund, message: str) -> None:
        if refund.status != RefundStatus.PENDING:
            return
        refund.status = RefundStatus.FAILED
        refund.failure_message = message[:500]
        granted = postings.refund(refund.id, refund.buyer_organization_id, refund.amount)
        await self.ledger.post(postings.reversal(granted, "Refund failed at the provider"))
        log.warning("refund_failed", refund_id=str(refund.id), message=message)

    # --- provider news ----------------------------------------------------------------

    async def apply_stripe_update(self, update: StripeUpdate) -> str:
        """Apply one Stripe event. Returns an outcome for the inbox row."""
        payment = None
        if update.provider_payment_id:
            payment = await self.payments.get_by_provider_id(
                update.provider_payment_id, for_update=True
            )
        if payment is None and update.payment_id is not None:
            payment = await self.payments.get(update.payment_id, for_update=True)
        if payment is None and update.refund_id is not None:
            refund = await self.payments.get_refund(update.refund_id)
            if refund is not None:
                payment = await self.payments.get(refund.payment_id, for_update=True)
        if payment is None:
            return "unknown_payment"
        if payment.method != PaymentMethod.CARD:
            return "ignored"
        if payment.provider_payment_id is None and update.provider_payment_id:
            payment.provider_payment_id = update.provider_payment_id
        changed = False
        if update.status is not None:
            changed = await self._advance(
                payment,
                update.status,
                failure_code=update.failure_code,
                failure_message=update.failure_message,
            )
        if update.refund_failed:
            refund = await self.payments.refund_of_payment(payment.id, for_update=True)
            if refund is not None and refund.provider_refund_id in (
                None,
                update.provider_refund_id,
            ):
                changed = refund.status == RefundStatus.PENDING or changed
                await self._fail_refund(refund, "The provider reported the refund failed.")
        if update.refunded_minor is not None:
            try:
                refunded = from_stripe_minor_units(update.refunded_minor)
            except ValueError:
                return "invalid_amount"
            if refunded >= payment.amount:
                changed = await self._record_full_refund(payment, update) or changed
            elif refunded > payment.refunded_amount:
                payment.refunded_amount = refunded
                changed = True
        await self.payments.flush()
        return "applied" if changed else "no_change"

    async def _record_full_refund(self, payment: Payment, update: StripeUpdate) -> bool:
        refund = await self._grant_refund(
            payment, reason="provider", provider_refund_id=update.provider_refund_id
        )
        if refund.status != RefundStatus.PENDING:
            return False
        if refund.provider_refund_id is None and update.provider_refund_id:
            refund.provider_refund_id = update.provider_refund_id
        await self._complete_refund(payment, refund)
        return True

    # --- the one way a payment's status changes ---------------------------------------

    async def _advance(
        self,
        payment: Payment,
        new: PaymentStatus,
        *,
        failure_code: str | None = None,
        failure_message: str | None = None,
    ) -> bool:
        before = PaymentStatus(payment.status)
        if not advances(before, new):
            return False
        payment.status = new
        if new is PaymentStatus.FAILED:
            payment.failure_code = (failure_code or "failed")[:100]
            payment.failure_message = (failure_message or "The payment failed.")[:500]
            self._emit(payment, PaymentStatus.FAILED)
        if crossed_success(before, new):
            payment.succeeded_at = _now()
            await self.ledger.post(
                postings.payment_received(
                    payment.id, payment.buyer_organization_id, payment.amount, payment.fee
                )
            )
            self._emit(payment, PaymentStatus.SUCCEEDED)
            if new is PaymentStatus.SUCCEEDED and payment.order_cancelled_at is not None:
                await self._grant_refund(payment, reason="order_cancelled")
        if new is PaymentStatus.REFUNDED:
            payment.refunded_amount = payment.amount
            self._emit(payment, PaymentStatus.REFUNDED)
        await self.payments.flush()
        return True

    def _emit(self, payment: Payment, status: PaymentStatus) -> None:
        event = PAYMENT_EVENTS[status](
            payment_id=payment.id,
            order_id=payment.order_id,
            method=payment.method,
            status=status,
            amount=payment.amount,
        )
        parties = {payment.buyer_organization_id, *payment.payee_organization_ids}
        for organization_id in sorted(parties):
            outbox.emit(self.uow, event, organization_id=organization_id)


def _require_confirmer(principal: Principal, payment: Payment) -> None:
    """A supplier's finance (or admin) key, or the platform's: never the buyer itself."""
    principal.require_role(Role.FINANCE)
    if not principal.is_party(*payment.payee_organization_ids):
        raise PermissionDenied("Only a supplier on the order or the platform confirms money.")
