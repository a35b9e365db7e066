"""The outbound edge: resolve and vet a webhook target, then POST one signed message.

Server-side request forgery guard: unless private targets are allowed (tests, local
development), a URL whose host resolves to any private, loopback, link-local, multicast or
reserved address is refused — at registration and again at every delivery, because DNS
answers change. At delivery the request goes to the very address that was vetted (the URL
keeps its host name for the `Host` header and TLS SNI/certificate checks), so a DNS answer
that changes between the check and the connection cannot redirect it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Awaitable, Callable

import httpx
import msgspec

from marketplace.webhooks.domain import (
    AttemptResult,
    Target,
    UnresolvableWebhookUrl,
    UnsafeWebhookUrl,
    is_unsafe_address,
    parse_retry_after,
    parse_target,
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = "KoperasiMarketplace-Webhooks/1.0"
# How much of a receiver's answer to keep in the delivery log.
RESPONSE_EXCERPT = 200


async def resolve(host: str, port: int) -> list[IPAddress]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


class VettedTarget(msgspec.Struct, frozen=True, kw_only=True):
    target: Target
    connect_to: IPAddress | None  # None: connect by name (private targets allowed)


class TargetGuard:
    def __init__(self, *, allow_private: bool, resolver: Resolver = resolve) -> None:
        self.allow_private = allow_private
        self.resolver = resolver

    async def vet(self, url: str) -> VettedTarget:
        target = parse_target(url)
        if self.allow_private:
            return VettedTarget(target=target, connect_to=None)
        if target.ip is not None:
            addresses: list[IPAddress] = [target.ip]
        else:
            try:
                addresses = await self.resolver(target.host, target.port)
            except (OSError, UnicodeError) as exc:
                raise UnresolvableWebhookUrl(
                    "The URL's host name does not resolve.", host=target.host
                ) from exc
            if not addresses:
                raise UnresolvableWebhookUrl(
                    "The URL's host name does not resolve.", host=target.host
                )
        unsafe = [str(a) for a in addresses if is_unsafe_address(a)]
        if unsafe:
            raise UnsafeWebhookUrl(
                "Webhooks may only be sent to public internet addresses.",
                host=target.host,
                addresses=unsafe,
            )
        return VettedTarget(target=target, connect_to=addresses[0])


def pinned_request(
    client: httpx.AsyncClient, vetted: VettedTarget, headers: dict[str, str], body: bytes
) -> httpx.Request:
    """A POST to the vetted address that still names the host (Host header, TLS SNI)."""
    url = httpx.URL(vetted.target.url)
    extensions: dict[str, str] = {}
    if vetted.connect_to is not None:
        headers = {**headers, "Host": url.netloc.decode("ascii")}
        url = url.copy_with(host=str(vetted.connect_to))
        if url.scheme == "https":
            extensions["sni_hostname"] = vetted.target.host
    return client.build_request("POST", url, headers=headers, content=body, extensions=extensions)


async def post(vetted: VettedTarget, headers: dict[str, str], body: bytes) -> AttemptResult:
    """One POST, never following redirects; every failure is reported, none raised."""
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    all_headers = {"content-type": "application/json", "user-agent": USER_AGENT, **headers}
    try:
        async with httpx.AsyncClient(
            timeout=TIMEOUT, follow_redirects=False, trust_env=False
        ) as client:
            request = pinned_request(client, vetted, all_headers, body)
            response = await client.send(request, stream=True)
            try:
                excerpt = await _read_excerpt(response)
            finally:
                await response.aclose()
    except httpx.TimeoutException as exc:
        return AttemptResult(
            status_code=None, error=f"timeout: {_describe(exc)}", duration_ms=elapsed()
        )
    except httpx.HTTPError as exc:
        return AttemptResult(
            status_code=None, error=f"connection failed: {_describe(exc)}", duration_ms=elapsed()
        )
    status = response.status_code
    error = None if 200 <= status < 300 else f"HTTP {status}" + (f": {excerpt}" if excerpt else "")
    return AttemptResult(
        status_code=status,
        error=error,
        duration_ms=elapsed(),
        retry_after=parse_retry_after(response.headers.get("retry-after")),
    )


async def _read_excerpt(response: httpx.Response) -> str:
    chunks = b""
    async for chunk in response.aiter_bytes():
        chunks += chunk
        if len(chunks) >= RESPONSE_EXCERPT:
            break
    return chunks[:RESPONSE_EXCERPT].decode("utf-8", "replace").strip()


def _describe(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text[:300]
