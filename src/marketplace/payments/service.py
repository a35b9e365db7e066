"""Use cases of paying an order: pay it, read its payments, confirm money that arrived or
left by transfer. Callers own the transaction (see `marketplace.db`).

Status changes go through `PaymentLifecycle` (`lifecycle.py`); what the provider reports is
applied by `stripe_updates.py`, refunds of cancelled orders by `refund_service.py`.
Locks: the payment row first, then its refund — in every path.
"""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec

from marketplace.accounts import OrganizationKind, Principal, Role
from marketplace.db import UnitOfWork
from marketplace.errors import NotFound, PermissionDenied
from marketplace.orders import OrderService, OrderView
from marketplace.payments.domain import (
    BANK_TRANSFER_VALIDITY,
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
    TreasuryNotAllowed,
    virtual_account_number,
)
from marketplace.payments.domain.gateway import GatewayRejected, GatewayUnavailable, PaymentGateway
from marketplace.payments.lifecycle import PaymentLifecycle
from marketplace.payments.models import Payment, Refund
from marketplace.payments.repository import PaymentRepository
from marketplace.payments.schemas import PaymentCreate

PAYMENT_ID_NAMESPACE = uuid.UUID("0b6f8e1e-5f43-4f5e-9d43-7a1c0f2a9a51")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def payment_id_for(organization_id: uuid.UUID, idempotency_key: str) -> uuid.UUID:
    """The payment id of a create request: the same (organization, Idempotency-Key) always
    names the same payment, so a retry after a provider time-out reuses the provider's
    idempotency key (``payment:{id}:create``) and can't charge twice."""
    return uuid.uuid5(PAYMENT_ID_NAMESPACE, f"{organization_id}:{idempotency_key}")


class PaymentView(msgspec.Struct, frozen=True, kw_only=True):
    payment: Payment
    refunds: list[Refund]


class PaymentService:
    def __init__(self, uow: UnitOfWork, gateway: PaymentGateway | None = None) -> None:
        self.uow = uow
        self.gateway = gateway
        self.payments = PaymentRepository(uow.session)
        self.lifecycle = PaymentLifecycle(uow)

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
            method=method.value,
            status=PaymentStatus.PENDING.value,
            amount=amount,
            fee=0,
            refunded_amount=0,
            created_by_api_key_id=principal.api_key_id,
            created_by_person_id=principal.person_id,
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
        await self.lifecycle.advance(
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
            payment.confirmed_by_person_id = principal.person_id
            await self.lifecycle.advance(payment, PaymentStatus.SUCCEEDED)
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
            await self.lifecycle.complete_refund(payment, refund)
        else:
            raise NotConfirmable(f"A {refund.status} refund can't be confirmed.")
        await self.payments.flush()
        return await self.view(principal, payment.id)


def _require_confirmer(principal: Principal, payment: Payment) -> None:
    """A supplier's finance (or admin) key, or the platform's: never the buyer itself."""
    principal.require_role(Role.FINANCE)
    if not principal.is_party(*payment.payee_organization_ids):
        raise PermissionDenied("Only a supplier on the order or the platform confirms money.")
