"""Pure webhook rules: event types, delivery states, the retry schedule, target policy."""

from __future__ import annotations

import datetime as dt
import enum
import ipaddress
import re
from urllib.parse import SplitResult, urlsplit

import msgspec

from marketplace.errors import Conflict, ValidationFailed
from marketplace.webhooks.domain.events import PARTNER_EVENT_CLASSES


# The `event_type` of each partner event class (`domain.events.PARTNER_EVENTS`), checked
# below; its docstring is the API's description of the type.
class EventType(enum.StrEnum):
    """Every event a partner can subscribe to. The outbox topic is the same string; each
    is emitted, in the transaction of its state change, to every organization named in the
    README's table of partner events (tests/api/test_partner_events.py runs each flow)."""

    ORDER_PLACED = "order.placed"
    ORDER_CANCELLED = "order.cancelled"
    ORDER_LEG_SHIPPED = "order.leg.shipped"
    ORDER_LEG_DELIVERED = "order.leg.delivered"
    LISTING_PAUSED = "listing.paused"
    CONSIGNMENT_STATEMENT_ISSUED = "consignment.statement.issued"
    PROCUREMENT_BULOG_LOT_CLOSED = "procurement.bulog_lot.closed"
    PROCUREMENT_BULOG_LOT_SUBMITTED = "procurement.bulog_lot.submitted"
    PROCUREMENT_BULOG_LOT_RECEIVED = "procurement.bulog_lot.received"
    PROCUREMENT_TRADE_CONTRACT_SIGNED = "procurement.trade_contract.signed"
    PROCUREMENT_TRADE_CONTRACT_REALLOTTED = "procurement.trade_contract.reallotted"
    PROCUREMENT_TRADE_CONTRACT_SHIPMENT_RECORDED = "procurement.trade_contract.shipment_recorded"
    PROCUREMENT_RFQ_PUBLISHED = "procurement.rfq.published"
    PROCUREMENT_PURCHASE_ORDER_CREATED = "procurement.purchase_order.created"
    PROCUREMENT_INVOICE_ISSUED = "procurement.invoice.issued"
    PROCUREMENT_TREASURY_PAYMENT_RECORDED = "procurement.treasury_payment.recorded"
    PAYMENT_SUCCEEDED = "payment.succeeded"
    PAYMENT_FAILED = "payment.failed"
    PAYMENT_REFUNDED = "payment.refunded"


EVENT_TYPES = frozenset(PARTNER_EVENT_CLASSES)
if {e.value for e in EventType} != EVENT_TYPES:
    raise AssertionError(
        "EventType and the partner event classes differ: "
        f"{sorted(EVENT_TYPES.symmetric_difference(EventType))}"
    )


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


# IPv6 forms that carry an IPv4 address inside them (RFC 6052 §2, RFC 4291 §2.5.5, RFC 3056,
# RFC 4380, RFC 5214): a packet to such an address can end up at the IPv4 address it
# carries — through the host's own stack, a NAT64 gateway or a tunnel relay — so a guard
# that looks only at the IPv6 address lets `http://[2002:7f00:1::]/` reach 127.0.0.1.
IPV4_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")  # SIIT (RFC 2765)
NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")
# Refused whatever they carry: deprecated tunnels whose far end we cannot vouch for, and
# NAT64 prefixes that are local by definition (RFC 8215).
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated (RFC 4291 §2.5.5.1)
SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")  # deprecated (RFC 7526)
TEREDO = ipaddress.IPv6Network("2001::/32")  # the client's IPv4 is obfuscated in it
NAT64_LOCAL_USE = ipaddress.IPv6Network("64:ff9b:1::/48")
REFUSED_IPV6_NETWORKS = (IPV4_COMPATIBLE, SIX_TO_FOUR, TEREDO, NAT64_LOCAL_USE)
# ISATAP interface identifier `…:0000:5efe:a.b.c.d` (u/g bits of its first octet ignored).
ISATAP_MARKER = 0x00005EFE
ISATAP_MARKER_MASK = 0xFCFFFFFF

# IANA's IPv4 special-purpose registry, the blocks not globally reachable (plus multicast
# and the deprecated 6to4 relay anycast), stated here rather than left to the flags of
# Python's `ipaddress`, which differ between versions (3.11 calls 192.0.0.8 global).
NON_GLOBAL_IPV4_NETWORKS = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
        "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
        "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    )
)  # fmt: skip

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries, in every form that can deliver to it:
    IPv4-mapped, IPv4-translated, NAT64 (well-known prefix), 6to4, Teredo (its server),
    ISATAP and IPv4-compatible; None for a plain IPv6 address."""
    low32 = ipaddress.IPv4Address(ip.packed[-4:])
    if ip in IPV4_MAPPED or ip in IPV4_TRANSLATED or ip in NAT64_WELL_KNOWN:
        return low32
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[0]
    if ((int(ip) >> 32) & ISATAP_MARKER_MASK) == ISATAP_MARKER:
        return low32
    if ip in IPV4_COMPATIBLE and int(ip) > 1:  # not :: or ::1
        return low32
    return None


def is_unsafe_address(ip: IPAddress) -> bool:
    """Private, loopback, link-local, multicast, reserved or otherwise non-global — the
    IPv4 address an IPv6 address carries included. A translated address (IPv4-mapped,
    SIIT, NAT64's well-known prefix, as DNS64 answers for IPv4-only hosts) is judged by
    the IPv4 address it stands for."""
    if isinstance(ip, ipaddress.IPv4Address):
        if any(ip in network for network in NON_GLOBAL_IPV4_NETWORKS):
            return True
    else:
        if any(ip in network for network in REFUSED_IPV6_NETWORKS):
            return True
        carried = embedded_ipv4(ip)
        if carried is not None:
            if ip in IPV4_MAPPED or ip in IPV4_TRANSLATED or ip in NAT64_WELL_KNOWN:
                return is_unsafe_address(carried)
            if is_unsafe_address(carried):
                return True
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


# --- what a receiver says, made safe to act on and to store ----------------------------

# The longest delay-seconds we read; longer (up to any number of digits) means "at least the
# cap" and is never converted, so no answer can overflow a timedelta or Python's int parser.
_RETRY_AFTER_MAX_DIGITS = len(str(int(MAX_RETRY_AFTER.total_seconds())))
_DELAY_SECONDS = re.compile(r"[0-9]+")  # ASCII digits only: str.isdigit() accepts "²"
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_SHORT_DAY = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_LONG_DAY = "(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_MONTH = "(?P<month>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_TIME = "(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})"
# RFC 9110 §5.6.7: IMF-fixdate, and the obsolete RFC 850 and asctime forms a recipient
# must accept. Case-sensitive, as the grammar is.
_IMF_FIXDATE = re.compile(
    rf"{_SHORT_DAY}, (?P<day>[0-9]{{2}}) {_MONTH} (?P<year>[0-9]{{4}}) {_TIME} GMT"
)
_RFC850_DATE = re.compile(
    rf"{_LONG_DAY}, (?P<day>[0-9]{{2}})-{_MONTH}-(?P<year>[0-9]{{2}}) {_TIME} GMT"
)
_ASCTIME_DATE = re.compile(
    rf"{_SHORT_DAY} {_MONTH} (?P<day>[ 0-9][0-9]) {_TIME} (?P<year>[0-9]{{4}})"
)


def parse_http_date(value: str, now: dt.datetime) -> dt.datetime | None:
    """An HTTP-date (RFC 9110 §5.6.7) as an aware UTC datetime; None unless it is one."""
    match = (
        _IMF_FIXDATE.fullmatch(value)
        or _RFC850_DATE.fullmatch(value)
        or _ASCTIME_DATE.fullmatch(value)
    )
    if match is None:
        return None
    year = int(match["year"])
    if len(match["year"]) == 2:
        # RFC 9110: a two-digit year more than 50 years ahead is in the past century.
        year += now.year - now.year % 100
        if year > now.year + 50:
            year -= 100
    try:
        return dt.datetime(
            year,
            _MONTHS[match["month"]],
            int(match["day"].strip()),
            int(match["hour"]),
            int(match["minute"]),
            min(int(match["second"]), 59),  # a leap second is the second before it
            tzinfo=dt.UTC,
        )
    except ValueError:  # 31 Feb, hour 25, …
        return None


def parse_retry_after(value: str | None, now: dt.datetime) -> dt.timedelta | None:
    """A receiver's `Retry-After` (RFC 9110 §10.2.3: delay-seconds or an HTTP-date) as a
    delay between zero and `MAX_RETRY_AFTER`; None when absent or not well formed.

    Strict: ASCII digits only (no sign, no "²" or other Unicode digits), no fractions; a
    date already past means "now". Whatever its size, a value never raises."""
    if value is None:
        return None
    text = value.strip(" \t")
    if _DELAY_SECONDS.fullmatch(text):
        digits = text.lstrip("0") or "0"
        if len(digits) > _RETRY_AFTER_MAX_DIGITS:
            return MAX_RETRY_AFTER
        return min(dt.timedelta(seconds=int(digits)), MAX_RETRY_AFTER)
    moment = parse_http_date(text, now)
    if moment is None:
        return None
    if moment <= now:
        return dt.timedelta(0)
    return min(moment - now, MAX_RETRY_AFTER)


# What is stored of an error or a receiver's answer: PostgreSQL text holds no NUL and only
# valid UTF-8, and the log's columns are 500 characters.
ERROR_TEXT_LIMIT = 500
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def storable_text(text: str | None, limit: int = ERROR_TEXT_LIMIT) -> str | None:
    """`text` made safe to store and show: at most `limit` characters, control characters
    (NUL first) replaced by U+FFFD and unpaired surrogates by "?"; None stays None."""
    if text is None:
        return None
    bounded = text[:limit]  # first, so a huge input costs no more than a short one
    valid = bounded.encode("utf-8", "replace").decode("utf-8")
    return _UNPRINTABLE.sub("\ufffd", valid)


def decode_excerpt(raw: bytes, limit: int) -> str:
    """The start of a receiver's body as text: invalid UTF-8 replaced, at most `limit`
    characters, stripped."""
    return raw[: limit * 4].decode("utf-8", "replace")[:limit].strip()
