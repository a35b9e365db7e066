"""Pure payment rules: the status order, Stripe event meaning, virtual accounts."""

from __future__ import annotations

import itertools
import uuid

from hypothesis import given
from hypothesis import strategies as st

from marketplace.payments.domain import (
    STATUS_RANK,
    PaymentStatus,
    advances,
    crossed_success,
    interpret_stripe_event,
    luhn_check_digit,
    virtual_account_number,
)


def apply_all(start: PaymentStatus, events: list[PaymentStatus]) -> PaymentStatus:
    status = start
    for new in events:
        if advances(status, new):
            status = new
    return status


@given(st.lists(st.sampled_from(list(PaymentStatus)), max_size=8))
def test_any_arrival_order_ends_at_the_highest_status(events: list[PaymentStatus]) -> None:
    expected = max([PaymentStatus.PENDING, *events], key=STATUS_RANK.__getitem__)
    for order in itertools.islice(itertools.permutations(events), 50):
        assert apply_all(PaymentStatus.PENDING, list(order)) is expected


def test_success_is_crossed_once_even_when_a_refund_arrives_first() -> None:
    assert crossed_success(PaymentStatus.PROCESSING, PaymentStatus.REFUNDED)
    assert crossed_success(PaymentStatus.PENDING, PaymentStatus.SUCCEEDED)
    assert not crossed_success(PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED)
    assert not advances(PaymentStatus.REFUNDED, PaymentStatus.SUCCEEDED)
    assert not advances(PaymentStatus.SUCCEEDED, PaymentStatus.SUCCEEDED)


def test_stripe_events_mean_what_they_say() -> None:
    payment_id = uuid.uuid4()
    failed = interpret_stripe_event(
        "payment_intent.payment_failed",
        {
            "id": "pi_1",
            "metadata": {"payment_id": str(payment_id)},
            "last_payment_error": {"code": "card_declined", "message": "Declined"},
        },
    )
    assert failed is not None
    assert (failed.status, failed.payment_id, failed.provider_payment_id) == (
        PaymentStatus.FAILED,
        payment_id,
        "pi_1",
    )
    assert (failed.failure_code, failed.failure_message) == ("card_declined", "Declined")
    refunded = interpret_stripe_event(
        "charge.refunded", {"payment_intent": "pi_1", "amount_refunded": 500_000}
    )
    assert refunded is not None
    assert (refunded.status, refunded.refunded_minor) == (None, 500_000)
    refund_failed = interpret_stripe_event(
        "refund.updated", {"id": "re_1", "payment_intent": "pi_1", "status": "failed"}
    )
    assert refund_failed is not None
    assert refund_failed.refund_failed
    assert interpret_stripe_event("customer.created", {"id": "cus_1"}) is None
    odd = interpret_stripe_event("payment_intent.succeeded", {"metadata": {"payment_id": 7}})
    assert odd is not None
    assert (odd.payment_id, odd.provider_payment_id) == (None, None)


@given(st.uuids())
def test_virtual_accounts_are_16_digits_with_a_valid_check_digit(payment_id: uuid.UUID) -> None:
    number = virtual_account_number(payment_id)
    assert len(number) == 16
    assert number.isdigit()
    assert number.startswith("8808")
    assert luhn_check_digit(number[:-1]) == int(number[-1])
