"""Who is asking, as far as the network can tell: the one place that reads it.

The peer of the connection is the client unless it is one of our own proxies (the
`TRUSTED_PROXIES` networks, none by default). Then the forwarded chain is read from the
right — `Forwarded: for=…` (RFC 7239) when present, else `X-Forwarded-For` — skipping our
proxies, and the first address that isn't one of them is the client: everything to its
left was written by that client and may be forged. A chain that is garbled where we would
have to read it leaves the last of our proxies as the address (never a forged value).

Used by the API's rate limits (`marketplace.rate_limits`) and the page sign-in throttle.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable, Sequence
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(text: str | None) -> tuple[str, ...]:
    """`TRUSTED_PROXIES`: CIDRs or addresses separated by commas or spaces; ValueError
    naming the bad entry otherwise."""
    entries = [e for e in (text or "").replace(",", " ").split() if e]
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError as exc:
            raise ValueError(f"TRUSTED_PROXIES: {entry!r} is not an address or CIDR") from exc
    return tuple(entries)


@functools.cache
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(e, strict=False) for e in entries)


def _address(text: str) -> Address | None:
    text = text.strip().strip('"')
    if text.startswith("["):  # Forwarded: for="[2001:db8::1]:4711"
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:  # 192.0.2.1:4711
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _forwarded_for(headers: Iterable[tuple[bytes, bytes]]) -> list[str] | None:
    forwarded: list[str] = []
    x_forwarded: list[str] = []
    for name, value in headers:
        if name == b"forwarded":
            for element in value.decode("latin-1").split(","):
                for pair in element.split(";"):
                    key, _, val = pair.strip().partition("=")
                    if key.lower() == "for":
                        forwarded.append(val)
        elif name == b"x-forwarded-for":
            x_forwarded += value.decode("latin-1").split(",")
    return forwarded or x_forwarded or None


def address_of(scope: Any, trusted: Sequence[str]) -> str:
    """The client's address for an ASGI scope, given the trusted proxy networks."""
    client = scope.get("client")
    peer = client[0] if client else "unknown"
    if not trusted:
        return str(peer)
    networks = _networks(tuple(trusted))
    last_trusted = _address(str(peer))
    if last_trusted is None or not any(last_trusted in n for n in networks):
        return str(peer)
    chain = _forwarded_for(scope.get("headers", ()))
    for hop in reversed(chain or []):
        address = _address(hop)
        if address is None:
            break  # garbled: don't read further left
        if not any(address in n for n in networks):
            return str(address)
        last_trusted = address
    return str(last_trusted)


def client_address(request: Any) -> str:
    """The client's address of a Litestar request (the app's `TRUSTED_PROXIES`)."""
    settings = getattr(request.app.state, "settings", None)
    return address_of(request.scope, settings.trusted_proxies if settings else ())
