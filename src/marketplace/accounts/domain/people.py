"""Pure rules about people: phone numbers, passwords, invitations, sign-in throttling."""

from __future__ import annotations

import datetime as dt
import re

from marketplace.errors import DomainError, NotAuthenticated, ValidationFailed

# Indonesian mobile numbers as people write them: `0812-3456-7890`, `+62 812 3456 7890`,
# `62812…`, `812…`. E.164 allows 15 digits at most; Indonesian numbers have 9 to 13 after
# the country code.
_SEPARATORS = re.compile(r"[\s.\-()]")
_E164_INDONESIA = re.compile(r"^\+62[1-9]\d{7,12}$")
INDONESIA_COUNTRY_CODE = "62"

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128
# An invitation sent over WhatsApp is meant to be used the same week.
INVITATION_LIFETIME = dt.timedelta(days=7)
# Failed sign-ins counted over this window, per phone number and per client address.
SIGN_IN_WINDOW = dt.timedelta(minutes=15)
MAX_FAILURES_PER_PHONE = 5
# A cooperative's office shares one address among many people.
MAX_FAILURES_PER_ADDRESS = 20


class InvalidPhone(ValidationFailed):
    code = "accounts.invalid_phone"


class WeakPassword(ValidationFailed):
    code = "accounts.weak_password"


class InvitationUnusable(ValidationFailed):
    """Unknown, used or expired: the link cannot make an account."""

    code = "accounts.invitation_unusable"


class SignInRefused(NotAuthenticated):
    code = "accounts.sign_in_refused"


class TooManyAttempts(DomainError):
    code = "accounts.too_many_attempts"
    status = 429
    title = "Too many failed sign-ins"

    def __init__(self, detail: str, *, retry_after_seconds: int) -> None:
        super().__init__(detail, retry_after_seconds=retry_after_seconds)
        self.retry_after_seconds = retry_after_seconds


def normalize_phone(value: str) -> str:
    """An Indonesian phone number in E.164 form (`+62812…`), or `InvalidPhone`.

    The national form's leading 0 (the trunk prefix) becomes the country code; a number
    written without either (`812…`) is taken as national too.
    """
    digits = _SEPARATORS.sub("", value.strip())
    if digits.startswith("+"):
        candidate = digits
    elif digits.startswith(INDONESIA_COUNTRY_CODE):
        candidate = "+" + digits
    elif digits.startswith("0"):
        candidate = "+" + INDONESIA_COUNTRY_CODE + digits[1:]
    else:
        candidate = "+" + INDONESIA_COUNTRY_CODE + digits
    if not _E164_INDONESIA.match(candidate):
        raise InvalidPhone(
            "The phone number must be an Indonesian number such as 0812 3456 7890.",
            field="phone",
        )
    return candidate


def check_password(password: str) -> str:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise WeakPassword(
            f"The password must have {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters.",
            field="password",
            min_length=MIN_PASSWORD_LENGTH,
        )
    return password


def invitation_usable(
    expires_at: dt.datetime, used_at: dt.datetime | None, now: dt.datetime
) -> bool:
    return used_at is None and now < expires_at


def retry_after(
    failures_by_phone: int,
    failures_by_address: int,
    oldest_counted: dt.datetime | None,
    now: dt.datetime,
) -> int | None:
    """Seconds until another attempt is heard, or None when one may be made now.

    Counted over `SIGN_IN_WINDOW`: the wait lasts until the oldest counted failure leaves it.
    """
    if failures_by_phone < MAX_FAILURES_PER_PHONE and failures_by_address < (
        MAX_FAILURES_PER_ADDRESS
    ):
        return None
    if oldest_counted is None:
        return int(SIGN_IN_WINDOW.total_seconds())
    remaining = oldest_counted + SIGN_IN_WINDOW - now
    return max(1, int(remaining.total_seconds()) + 1)


__all__ = [
    "INVITATION_LIFETIME",
    "MAX_FAILURES_PER_ADDRESS",
    "MAX_FAILURES_PER_PHONE",
    "MIN_PASSWORD_LENGTH",
    "SIGN_IN_WINDOW",
    "InvalidPhone",
    "InvitationUnusable",
    "SignInRefused",
    "TooManyAttempts",
    "WeakPassword",
    "check_password",
    "invitation_usable",
    "normalize_phone",
    "retry_after",
]
