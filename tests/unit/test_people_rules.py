"""Pure rules of people: Indonesian phone numbers in E.164, invitations, throttling."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.accounts.domain.people import (
    MAX_FAILURES_PER_ADDRESS,
    MAX_FAILURES_PER_PHONE,
    SIGN_IN_WINDOW,
    InvalidPhone,
    invitation_usable,
    normalize_phone,
    retry_after,
)

NOW = dt.datetime(2026, 12, 3, 7, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("written", "e164"),
    [
        ("081234567890", "+6281234567890"),
        ("0812-3456-7890", "+6281234567890"),
        ("+62 812 3456 7890", "+6281234567890"),
        ("6281234567890", "+6281234567890"),
        ("81234567890", "+6281234567890"),
        ("(0321) 123.4567", "+623211234567"),
    ],
)
def test_indonesian_numbers_become_e164(written: str, e164: str) -> None:
    assert normalize_phone(written) == e164


@pytest.mark.parametrize("written", ["", "0", "12345", "+1 202 555 0100", "08abc", "+620812345678"])
def test_what_is_no_indonesian_number_is_refused(written: str) -> None:
    with pytest.raises(InvalidPhone):
        normalize_phone(written)


subscriber = st.from_regex(r"8[1-9]\d{7,10}", fullmatch=True)


@given(subscriber, st.sampled_from(["0{}", "+62{}", "62{}", "{}", "+62 {}"]))
def test_every_written_form_of_a_number_is_one_e164(number: str, form: str) -> None:
    assert normalize_phone(form.format(number)) == "+62" + number


@given(subscriber)
def test_normalising_is_idempotent(number: str) -> None:
    once = normalize_phone("0" + number)
    assert normalize_phone(once) == once
    assert len(once) <= 16  # E.164: a plus and at most 15 digits


def test_an_invitation_is_usable_once_and_until_it_expires() -> None:
    later = NOW + dt.timedelta(days=1)
    assert invitation_usable(later, None, NOW)
    assert not invitation_usable(later, NOW, NOW)
    assert not invitation_usable(NOW, None, NOW)


@given(
    st.integers(0, 3 * MAX_FAILURES_PER_PHONE),
    st.integers(0, 3 * MAX_FAILURES_PER_ADDRESS),
    st.integers(0, int(SIGN_IN_WINDOW.total_seconds()) - 1),
)
def test_too_many_failures_wait_until_the_oldest_leaves_the_window(
    by_phone: int, by_address: int, age_seconds: int
) -> None:
    oldest = NOW - dt.timedelta(seconds=age_seconds)
    wait = retry_after(by_phone, by_address, oldest, NOW)
    if by_phone < MAX_FAILURES_PER_PHONE and by_address < MAX_FAILURES_PER_ADDRESS:
        assert wait is None
    else:
        assert wait is not None
        assert 1 <= wait <= SIGN_IN_WINDOW.total_seconds() + 1
        assert oldest + SIGN_IN_WINDOW <= NOW + dt.timedelta(seconds=wait)
