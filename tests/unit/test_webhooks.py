"""Pure webhook rules: signing, the retry schedule, and the target-address guard."""

from __future__ import annotations

import datetime as dt
import ipaddress

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.webhooks.domain import (
    ERROR_TEXT_LIMIT,
    MAX_ATTEMPTS,
    MAX_RETRY_AFTER,
    AttemptResult,
    DeliveryState,
    DisabledReason,
    InvalidWebhookUrl,
    IPAddress,
    UnresolvableWebhookUrl,
    UnsafeWebhookUrl,
    decide,
    decode_excerpt,
    embedded_ipv4,
    is_unsafe_address,
    parse_http_date,
    parse_retry_after,
    parse_target,
    retry_delay,
    storable_text,
)
from marketplace.webhooks.domain.signing import generate_secret, secret_key, sign, signature_headers
from marketplace.webhooks.sender import TargetGuard, pinned_request

NOW = dt.datetime(2026, 11, 22, 3, 0, tzinfo=dt.UTC)


def test_signature_matches_the_standard_webhooks_reference_vector() -> None:
    # The example from the Standard Webhooks specification and reference libraries.
    assert (
        sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            b'{"test": 2432232314}',
        )
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_secrets_are_fresh_and_well_formed() -> None:
    a, b = generate_secret(), generate_secret()
    assert a != b
    assert a.startswith("whsec_")
    assert len(secret_key(a)) == 32
    headers = signature_headers(a, "evt_1", 1700000000, b"{}")
    assert headers["webhook-id"] == "evt_1"
    assert headers["webhook-timestamp"] == "1700000000"
    assert headers["webhook-signature"].startswith("v1,")


def test_retry_schedule_backs_off_then_gives_up() -> None:
    delays = [retry_delay(n) for n in range(1, MAX_ATTEMPTS)]
    assert delays[:3] == [
        dt.timedelta(seconds=5),
        dt.timedelta(seconds=30),
        dt.timedelta(minutes=2),
    ]
    assert all(d is not None for d in delays)
    assert delays == sorted(d for d in delays if d is not None)
    assert retry_delay(MAX_ATTEMPTS) is None
    assert retry_delay(1, jitter=1.0) == dt.timedelta(seconds=5.5)


def result(status: int | None, retry_after: dt.timedelta | None = None) -> AttemptResult:
    return AttemptResult(
        status_code=status,
        error=None if status == 200 else "x",
        duration_ms=3,
        retry_after=retry_after,
    )


def test_decisions() -> None:
    assert decide(result(200), 1, NOW).state is DeliveryState.DELIVERED
    assert decide(result(299), 8, NOW).state is DeliveryState.DELIVERED
    gone = decide(result(410), 1, NOW)
    assert gone.state is DeliveryState.FAILED
    assert gone.disable_endpoint is DisabledReason.GONE
    retry = decide(result(500), 1, NOW)
    assert retry.state is DeliveryState.PENDING
    assert retry.next_attempt_at == NOW + dt.timedelta(seconds=5)
    assert decide(result(None), 2, NOW).next_attempt_at == NOW + dt.timedelta(seconds=30)
    assert decide(result(302), 1, NOW).state is DeliveryState.PENDING  # redirects aren't followed
    last = decide(result(500), MAX_ATTEMPTS, NOW)
    assert last.state is DeliveryState.FAILED
    assert last.exhausted
    assert last.disable_endpoint is None
    # Retry-After is honoured when longer than the backoff, up to a cap.
    slow = decide(result(429, retry_after=dt.timedelta(minutes=3)), 1, NOW)
    assert slow.next_attempt_at == NOW + dt.timedelta(minutes=3)
    capped = decide(result(503, retry_after=dt.timedelta(days=30)), 1, NOW)
    assert capped.next_attempt_at == NOW + dt.timedelta(hours=6)
    assert parse_retry_after("120", NOW) == dt.timedelta(seconds=120)
    assert parse_retry_after(None, NOW) is None


@pytest.mark.parametrize(
    "url",
    ["ftp://a.example/x", "https://", "//a.example/x", "a.example", "https://u:p@a.example/"],
)
def test_malformed_urls(url: str) -> None:
    with pytest.raises(InvalidWebhookUrl):
        parse_target(url)


def test_parse_target_defaults_the_port() -> None:
    assert parse_target("https://Hooks.Example.COM/x").port == 443
    assert parse_target("https://hooks.example.com/x").host == "hooks.example.com"
    assert parse_target("http://hooks.example.com:8080/x").port == 8080
    assert parse_target("http://[2001:db8::1]/x").ip == ipaddress.ip_address("2001:db8::1")


def fake_resolver(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    async def resolve(host: str, port: int) -> list[IPAddress]:
        if host not in table:
            raise OSError("Name or service not known")
        return [ipaddress.ip_address(a) for a in table[host]]

    return resolve


DNS = {
    "partner.example": ["93.184.215.14"],
    "localhost": ["127.0.0.1", "::1"],
    "internal.example": ["10.20.30.40"],
    "rebind.example": ["93.184.215.14", "192.168.1.10"],
    "metadata.example": ["169.254.169.254"],
    "nat64.example": ["64:ff9b::a14:1e28"],
    "dns64.example": ["64:ff9b::5db8:d70e"],  # 93.184.215.14 through NAT64
}


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hooks",
        "http://127.1.2.3:8080/hooks",
        "http://10.0.0.5/hooks",
        "http://172.16.3.4/hooks",
        "http://192.168.1.1/hooks",
        "http://169.254.169.254/latest/meta-data",
        "http://100.64.0.1/hooks",  # carrier-grade NAT
        "http://0.0.0.0/hooks",
        "http://224.0.0.1/hooks",
        "http://240.0.0.1/hooks",
        "http://[::1]/hooks",
        "http://[fe80::1]/hooks",
        "http://[fc00::1]/hooks",
        "http://[ff02::1]/hooks",
        "http://[::ffff:127.0.0.1]/hooks",
        "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
        "http://[2002:a9fe:a9fe::1]/",  # 6to4 of the metadata address
        "http://[64:ff9b::7f00:1]/",  # NAT64 of 127.0.0.1
        "http://[64:ff9b:1::808:808]/",  # NAT64 local-use prefix, whatever it carries
        "http://[::ffff:0:a00:1]/",  # IPv4-translated 10.0.0.1
        "http://[::10.0.0.1]/",  # IPv4-compatible (deprecated)
        "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",  # Teredo
        "http://[2606:4700::5efe:c0a8:101]/",  # ISATAP of 192.168.1.1
        "https://nat64.example/hooks",  # DNS64 answer for an internal host
        "https://localhost/hooks",
        "https://internal.example/hooks",
        "https://rebind.example/hooks",  # one private answer is enough to refuse
        "https://metadata.example/hooks",
    ],
)
async def test_guard_refuses_private_and_reserved_targets(url: str) -> None:
    guard = TargetGuard(allow_private=False, resolver=fake_resolver(DNS))
    with pytest.raises(UnsafeWebhookUrl) as raised:
        await guard.vet(url)
    assert raised.value.code == "webhooks.unsafe_url"


async def test_guard_accepts_public_targets_and_pins_the_vetted_address() -> None:
    guard = TargetGuard(allow_private=False, resolver=fake_resolver(DNS))
    vetted = await guard.vet("https://partner.example/hooks?x=1")
    assert vetted.connect_to == ipaddress.ip_address("93.184.215.14")
    literal = await guard.vet("http://93.184.215.14:8080/hooks")
    assert literal.connect_to == ipaddress.ip_address("93.184.215.14")
    # An IPv6-only network's DNS64 answer for a public host is a public target.
    translated = await guard.vet("https://dns64.example/hooks")
    assert translated.connect_to == ipaddress.ip_address("64:ff9b::5db8:d70e")

    async with httpx.AsyncClient() as client:
        request = pinned_request(client, vetted, {"webhook-id": "e1"}, b"{}")
    assert request.url.host == "93.184.215.14"
    assert request.url.path == "/hooks"
    assert request.url.query == b"x=1"
    assert request.headers["host"] == "partner.example"
    assert request.extensions["sni_hostname"] == "partner.example"
    assert request.headers["webhook-id"] == "e1"


async def test_guard_reports_names_that_do_not_resolve() -> None:
    guard = TargetGuard(allow_private=False, resolver=fake_resolver(DNS))
    with pytest.raises(UnresolvableWebhookUrl):
        await guard.vet("https://nowhere.example/hooks")


async def test_guard_allows_private_targets_when_configured_without_resolving() -> None:
    async def no_dns(host: str, port: int) -> list[IPAddress]:
        raise AssertionError("must not resolve")

    guard = TargetGuard(allow_private=True, resolver=no_dns)
    vetted = await guard.vet("http://localhost:8080/hooks")
    assert vetted.connect_to is None
    with pytest.raises(InvalidWebhookUrl):  # the URL's shape is still checked
        await guard.vet("file:///etc/passwd")


# --- addresses that carry an IPv4 address -----------------------------------------------

# IANA's IPv4 special-purpose registry, the blocks not globally reachable, and multicast
# and the deprecated 6to4 relay anycast.
NON_GLOBAL_IPV4 = [
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
    "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
]  # fmt: skip
non_global_ipv4 = st.sampled_from(NON_GLOBAL_IPV4).flatmap(
    lambda network: st.ip_addresses(network=network)
)
global_ipv4 = st.ip_addresses(v=4).filter(
    lambda a: a.is_global and not any(a in ipaddress.ip_network(n) for n in NON_GLOBAL_IPV4)
)
PUBLIC_PREFIX = int(ipaddress.IPv6Address("2606:4700::"))  # a global unicast /32


def v6(value: int) -> ipaddress.IPv6Address:
    return ipaddress.IPv6Address(value)


def mapped(a: ipaddress.IPv4Address) -> ipaddress.IPv6Address:
    return v6(0xFFFF << 32 | int(a))


def translated(a: ipaddress.IPv4Address) -> ipaddress.IPv6Address:
    return v6(0xFFFF << 48 | int(a))


def nat64(a: ipaddress.IPv4Address) -> ipaddress.IPv6Address:
    return v6(int(ipaddress.IPv6Address("64:ff9b::")) | int(a))


def six_to_four(a: ipaddress.IPv4Address) -> ipaddress.IPv6Address:
    return v6(0x2002 << 112 | int(a) << 80 | 1)


def isatap(a: ipaddress.IPv4Address, marker: int = 0x00005EFE) -> ipaddress.IPv6Address:
    return v6(PUBLIC_PREFIX | marker << 32 | int(a))


def compatible(a: ipaddress.IPv4Address) -> ipaddress.IPv6Address:
    return v6(int(a))


def teredo(server: ipaddress.IPv4Address, client: ipaddress.IPv4Address) -> ipaddress.IPv6Address:
    # 2001:0000:<server>:<flags>:<port ^ 0xffff>:<client ^ 0xffffffff> (RFC 4380 §4)
    return v6(
        0x20010000 << 96
        | int(server) << 64
        | 0x8000 << 48
        | 0xFFFF << 32
        | (~int(client) & 0xFFFFFFFF)
    )


EMBEDDINGS = [mapped, translated, nat64, six_to_four, isatap, compatible]


@given(address=non_global_ipv4, embed=st.sampled_from(EMBEDDINGS))
def test_every_embedding_of_a_non_global_ipv4_address_is_refused(
    address: ipaddress.IPv4Address, embed: object
) -> None:
    assert callable(embed)
    carried = embed(address)
    assert embedded_ipv4(carried) == address or (compatible is embed and int(address) <= 1)
    assert is_unsafe_address(address)
    assert is_unsafe_address(carried)


@given(server=st.ip_addresses(v=4), client=st.ip_addresses(v=4))
def test_teredo_is_refused_whatever_it_carries(
    server: ipaddress.IPv4Address, client: ipaddress.IPv4Address
) -> None:
    address = teredo(server, client)
    assert address.teredo == (server, client)
    assert is_unsafe_address(address)


@given(address=global_ipv4)
def test_translations_of_a_public_ipv4_address_are_public_deprecated_tunnels_are_not(
    address: ipaddress.IPv4Address,
) -> None:
    for embed in (mapped, translated, nat64, isatap):
        assert embedded_ipv4(embed(address)) == address
        assert not is_unsafe_address(embed(address)), embed
    for embed in (six_to_four, compatible):  # RFC 7526, RFC 4291: nobody's webhook lives there
        assert is_unsafe_address(embed(address)), embed


@given(address=non_global_ipv4, marker=st.sampled_from([0x00005EFE, 0x02005EFE, 0x01005EFE]))
def test_isatap_with_either_universal_local_bit_carries_its_address(
    address: ipaddress.IPv4Address, marker: int
) -> None:
    assert embedded_ipv4(isatap(address, marker)) == address
    assert is_unsafe_address(isatap(address, marker))


def test_plain_ipv6_addresses_carry_nothing() -> None:
    for text in ("2606:4700::1111", "2a00:1450:4001:82a::200e", "::1", "::", "fe80::1"):
        assert embedded_ipv4(ipaddress.IPv6Address(text)) is None
    assert not is_unsafe_address(ipaddress.IPv6Address("2606:4700::1111"))


# --- Retry-After, strictly (RFC 9110 §10.2.3) ---------------------------------------------


@pytest.mark.parametrize(
    ("value", "delay"),
    [
        ("120", dt.timedelta(seconds=120)),
        ("0", dt.timedelta(0)),
        (" 7\t", dt.timedelta(seconds=7)),  # optional whitespace around the value
        ("0000000000000000000000030", dt.timedelta(seconds=30)),
        ("99999999999999999999", MAX_RETRY_AFTER),  # overflowed timedelta before
        ("9" * 10_000, MAX_RETRY_AFTER),  # beyond Python's int-from-text limit
        ("21601", MAX_RETRY_AFTER),
        ("²", None),  # str.isdigit() is True for it; int() raised
        ("١٢٣", None),  # Arabic-Indic digits
        ("\uff11\uff12", None),  # full-width digits
        ("-5", None),
        ("+5", None),
        ("1.5", None),
        ("5 5", None),
        ("120, 120", None),  # two Retry-After fields
        ("", None),
        ("soon", None),
        ("Sun, 22 Nov 2026 03:10:00 GMT", dt.timedelta(minutes=10)),  # IMF-fixdate
        ("Sunday, 22-Nov-26 03:10:00 GMT", dt.timedelta(minutes=10)),  # RFC 850
        ("Sun Nov 22 03:10:00 2026", dt.timedelta(minutes=10)),  # asctime
        ("Mon Nov  2 03:00:00 2026", dt.timedelta(0)),  # asctime, one-digit day, past
        ("Sun, 06 Nov 1994 08:49:37 GMT", dt.timedelta(0)),  # far past: now
        ("Fri, 31 Dec 9999 23:59:59 GMT", MAX_RETRY_AFTER),  # far future: the cap
        ("Sun, 22 Nov 2026 03:00:60 GMT", dt.timedelta(seconds=59)),  # leap second
        ("Mon, 30 Feb 2026 03:10:00 GMT", None),
        ("Sun, 22 Nov 2026 25:10:00 GMT", None),
        ("Sun, 22 Nov 0000 03:10:00 GMT", None),
        ("sun, 22 nov 2026 03:10:00 gmt", None),  # the grammar is case-sensitive
        ("Sun, 22 Nov 2026 03:10:00 +0700", None),
        ("2026-11-22T03:10:00Z", None),
    ],
)
def test_retry_after_is_parsed_strictly_and_bounded(value: str, delay: dt.timedelta | None) -> None:
    assert parse_retry_after(value, NOW) == delay


def test_a_two_digit_year_more_than_50_years_ahead_is_last_century() -> None:
    moment = parse_http_date("Thursday, 01-Jan-98 00:00:00 GMT", NOW)
    assert moment == dt.datetime(1998, 1, 1, tzinfo=dt.UTC)
    assert parse_http_date("Sunday, 01-Jan-56 00:00:00 GMT", NOW) == dt.datetime(
        2056, 1, 1, tzinfo=dt.UTC
    )


@given(value=st.text(max_size=200) | st.from_regex(r"[0-9]{1,40}", fullmatch=True))
def test_no_retry_after_raises_and_every_delay_is_bounded(value: str) -> None:
    delay = parse_retry_after(value, NOW)
    assert delay is None or dt.timedelta(0) <= delay <= MAX_RETRY_AFTER


@given(seconds=st.integers(min_value=0, max_value=10**40))
def test_delay_seconds_are_honoured_up_to_the_cap(seconds: int) -> None:
    expected = min(dt.timedelta(seconds=min(seconds, 10**9)), MAX_RETRY_AFTER)
    assert parse_retry_after(str(seconds), NOW) == expected


@given(digits=st.text(st.characters(categories=["Nd", "No"]), min_size=1, max_size=5))
def test_only_ascii_digits_are_delay_seconds(digits: str) -> None:
    if all(c in "0123456789" for c in digits):
        assert parse_retry_after(digits, NOW) is not None
    else:
        assert parse_retry_after(digits, NOW) is None


@given(
    moment=st.datetimes(
        min_value=dt.datetime(1000, 1, 1), max_value=dt.datetime(9999, 12, 31, 23, 59, 59)
    )
)
def test_an_imf_fixdate_is_a_delay_until_it_clamped(moment: dt.datetime) -> None:
    moment = moment.replace(microsecond=0, tzinfo=dt.UTC)
    days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    text = (
        f"{days[moment.weekday()]}, {moment.day:02d} {months[moment.month - 1]} "
        f"{moment.year:04d} {moment:%H:%M:%S} GMT"
    )
    expected = min(max(moment - NOW, dt.timedelta(0)), MAX_RETRY_AFTER)
    assert parse_retry_after(text, NOW) == expected


def test_retry_after_never_shortens_the_backoff_and_never_exceeds_the_cap() -> None:
    far = decide(result(503, retry_after=parse_retry_after("9" * 30, NOW)), 1, NOW)
    assert far.next_attempt_at == NOW + MAX_RETRY_AFTER
    past = decide(
        result(503, retry_after=parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", NOW)), 1, NOW
    )
    assert past.next_attempt_at == NOW + dt.timedelta(seconds=5)


# --- what is stored of an error --------------------------------------------------------


def test_stored_text_has_no_nul_no_broken_utf8_and_a_bound() -> None:
    assert storable_text(None) is None
    assert storable_text("HTTP 500: boom\x00\x00!") == "HTTP 500: boom\ufffd\ufffd!"
    assert storable_text("a\udcffb") == "a?b"  # an unpaired surrogate cannot be UTF-8
    assert storable_text("line 1\nline 2\ttab") == "line 1\nline 2\ttab"
    assert storable_text("x" * 10_000) == "x" * ERROR_TEXT_LIMIT
    assert decode_excerpt(b"\xff\xfeok\xc3(", 200) == "\ufffd\ufffdok\ufffd("


@given(text=st.text(), limit=st.integers(min_value=1, max_value=600))
def test_any_text_becomes_storable(text: str, limit: int) -> None:
    stored = storable_text(text, limit)
    assert stored is not None
    assert len(stored) <= limit
    assert "\x00" not in stored
    stored.encode("utf-8")  # strict: raises on anything PostgreSQL would refuse
    assert stored[:1] == "" or text[:1] in (stored[:1], "?") or not text[:1].isprintable()


@given(raw=st.binary(max_size=2_000))
def test_any_body_decodes_to_a_bounded_excerpt(raw: bytes) -> None:
    excerpt = decode_excerpt(raw, 200)
    assert len(excerpt) <= 200
    excerpt.encode("utf-8")
