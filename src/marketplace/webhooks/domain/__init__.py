"""Pure webhook rules: event types, delivery states, the retry schedule, target policy."""

from __future__ import annotations

import datetime as dt
import enum
import ipaddress
from urllib.parse import SplitResult, urlsplit

import msgspec

from marketplace.errors import Conflict, ValidationFailed


class EventType(enum.StrEnum):
    """Every event a partner can subscribe to. The outbox topic is the same string."""

    ORDER_PLACED = "order.placed"
    ORDER_CANCELLED = "order.cancelled"
    ORDER_LEG_SHIPPED = "order.leg.shipped"
    ORDER_LEG_DELIVERED = "order.leg.delivered"
    CONSIGNMENT_STATEMENT_ISSUED = "consignment.statement.issued"
    PROCUREMENT_RFQ_PUBLISHED = "procurement.rfq.published"
    PROCUREMENT_PURCHASE_ORDER_CREATED = "procurement.purchase_order.created"
    PAYMENT_SUCCEEDED = "payment.succeeded"
    PAYMENT_FAILED = "payment.failed"
    PAYMENT_REFUNDED = "payment.refunded"


EVENT_TYPES = frozenset(e.value for e in EventType)


class DeliveryState(enum.StrEnum):
    PENDING = "pending"  # waiting for its next attempt (or being attempted right now)
    DELIVERED = "delivered"  # a 2xx answer was received
    FAILED = "failed"  # retries exhausted, 410 Gone, or the endpoint was disabled


class DisabledReason(enum.StrEnum):
    MANUAL = "manual"  # switched off through the API
    GONE = "gone"  # the receiver answered 410 Gone
    FAILING = "failing"  # several deliveries in a row exhausted their retries


# Delay before each retry: attempt 1 is immediate, attempt 2 five seconds after attempt 1
# failed, …; MAX_ATTEMPTS attempts span about nine hours.
RETRY_SCHEDULE: tuple[dt.timedelta, ...] = (
    dt.timedelta(seconds=5),
    dt.timedelta(seconds=30),
    dt.timedelta(minutes=2),
    dt.timedelta(minutes=10),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
    dt.timedelta(hours=6),
)
MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1
# An endpoint whose deliveries fail this many times in a row (each after all its retries)
# is disabled; any successful delivery resets the count.
DISABLE_AFTER_FAILED_DELIVERIES = 3
# A receiver's Retry-After is honoured up to this long.
MAX_RETRY_AFTER = dt.timedelta(hours=6)


class InvalidWebhookUrl(ValidationFailed):
    code = "webhooks.invalid_url"
    title = "The webhook URL is not usable"


class UnsafeWebhookUrl(ValidationFailed):
    code = "webhooks.unsafe_url"
    title = "The webhook URL points at a private or reserved address"


class UnresolvableWebhookUrl(ValidationFailed):
    code = "webhooks.unresolvable_url"
    title = "The webhook URL's host name does not resolve"


class EndpointDisabled(Conflict):
    code = "webhooks.endpoint_disabled"
    title = "The webhook endpoint is disabled"


class Target(msgspec.Struct, frozen=True, kw_only=True):
    """A parsed webhook URL: what to resolve and where to connect."""

    url: str
    scheme: str
    host: str  # lower case, IPv6 without brackets
    port: int
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None  # when the host is a literal


def parse_target(url: str) -> Target:
    """Check the URL's shape: http(s), a host, no credentials."""
    try:
        parts: SplitResult = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise InvalidWebhookUrl("The URL cannot be parsed.", url=url) from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise InvalidWebhookUrl("The URL must start with https:// or http://.", url=url)
    host = (parts.hostname or "").lower()
    if not host:
        raise InvalidWebhookUrl("The URL has no host.", url=url)
    if parts.username is not None or parts.password is not None:
        raise InvalidWebhookUrl(
            "Credentials in the URL are not allowed; verify the webhook signature instead.",
            url=url,
        )
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    return Target(
        url=url.strip(),
        scheme=scheme,
        host=host,
        port=port if port is not None else (443 if scheme == "https" else 80),
        ip=ip,
    )


def is_unsafe_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Private, loopback, link-local, multicast, reserved or otherwise non-global."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return is_unsafe_address(ip.ipv4_mapped)
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


# --- one attempt and what follows it -------------------------------------------------


class AttemptResult(msgspec.Struct, frozen=True, kw_only=True):
    """What happened when we tried to POST: an HTTP status, or an error before one."""

    status_code: int | None
    error: str | None
    duration_ms: int
    retry_after: dt.timedelta | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    state: DeliveryState
    next_attempt_at: dt.datetime | None
    disable_endpoint: DisabledReason | None = None
    # True when the delivery failed for good (counts toward disabling the endpoint).
    exhausted: bool = False


def retry_delay(attempts_done: int, jitter: float = 0.0) -> dt.timedelta | None:
    """Delay before the next attempt after `attempts_done` attempts; None when out of tries.

    `jitter` in [0, 1) stretches the delay by up to 10% so that many deliveries failing
    together do not all come back at the same second.
    """
    if attempts_done < 1 or attempts_done >= MAX_ATTEMPTS:
        return None
    base = RETRY_SCHEDULE[attempts_done - 1]
    return base + base * (0.1 * min(max(jitter, 0.0), 1.0))


def decide(
    result: AttemptResult, attempts_done: int, now: dt.datetime, jitter: float = 0.0
) -> Decision:
    """The delivery's state after an attempt (`attempts_done` counts it)."""
    if result.succeeded:
        return Decision(state=DeliveryState.DELIVERED, next_attempt_at=None)
    if result.status_code == 410:
        return Decision(
            state=DeliveryState.FAILED,
            next_attempt_at=None,
            disable_endpoint=DisabledReason.GONE,
        )
    delay = retry_delay(attempts_done, jitter)
    if delay is None:
        return Decision(state=DeliveryState.FAILED, next_attempt_at=None, exhausted=True)
    if result.retry_after is not None:
        delay = max(delay, min(result.retry_after, MAX_RETRY_AFTER))
    return Decision(state=DeliveryState.PENDING, next_attempt_at=now + delay)


def parse_retry_after(value: str | None) -> dt.timedelta | None:
    """`Retry-After: <seconds>` (the HTTP-date form is ignored)."""
    if value is None or not value.strip().isdigit():
        return None
    return dt.timedelta(seconds=int(value.strip()))
