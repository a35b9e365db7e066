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
import datetime as dt
import ipaddress
import socket
import time
from collections.abc import Awaitable, Callable

import httpx
import msgspec

from marketplace import tracing
from marketplace.webhooks.domain import (
    AttemptResult,
    IPAddress,
    Target,
    UnresolvableWebhookUrl,
    UnsafeWebhookUrl,
    decode_excerpt,
    is_unsafe_address,
    parse_retry_after,
    parse_target,
    storable_text,
)

Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
# The whole attempt — connect, send, the answer's head and excerpt — ends by then; well
# inside the deliver job's own timeout, so an attempt is always recorded.
ATTEMPT_DEADLINE_SECONDS = 10.0
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


async def post(
    vetted: VettedTarget,
    headers: dict[str, str],
    body: bytes,
    *,
    deadline: float = ATTEMPT_DEADLINE_SECONDS,
    span_attributes: dict[str, str | int] | None = None,
) -> AttemptResult:
    """One POST (`_post`); while tracing, in a CLIENT span (with `span_attributes`) whose
    `traceparent` the receiver gets, so a partner quoting it names the trace of the order
    that set the event off."""
    with tracing.outgoing_post(vetted.target.url, **(span_attributes or {})) as call:
        result = await _post(vetted, {**call.headers, **headers}, body, deadline=deadline)
        call.answered(result.status_code, result.error)
    return result


async def _post(
    vetted: VettedTarget,
    headers: dict[str, str],
    body: bytes,
    *,
    deadline: float,
) -> AttemptResult:
    """One POST, never following redirects; whatever the receiver does, the outcome is
    reported and nothing raised.

    The whole exchange has one deadline (httpx's timeouts bound each read, not a receiver
    that drips a byte at a time); only a non-2xx answer's body is read, raw (never
    decompressed) and at most `RESPONSE_EXCERPT` bytes of it."""
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    all_headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "accept-encoding": "identity",
        **headers,
    }
    answer: _Answer | None = None
    try:
        async with (
            asyncio.timeout(deadline),
            httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False, trust_env=False) as client,
        ):
            request = pinned_request(client, vetted, all_headers, body)
            response = await client.send(request, stream=True)
            try:
                answer = _Answer(
                    status=response.status_code,
                    retry_after=response.headers.get("retry-after"),
                    encoding=response.headers.get("content-encoding", "identity"),
                )
                if not answer.succeeded:
                    answer.excerpt = await _read_excerpt(response, answer.encoding)
            finally:
                await response.aclose()
    except (TimeoutError, httpx.TimeoutException) as exc:
        if answer is None:
            return _failure(f"timeout: {_describe(exc)}", elapsed())
        answer.excerpt = answer.excerpt or "(the body did not arrive in time)"
    except httpx.HTTPError as exc:
        if answer is None:
            return _failure(f"connection failed: {_describe(exc)}", elapsed())
        answer.excerpt = answer.excerpt or f"(the body could not be read: {_describe(exc)})"
    except Exception as exc:  # whatever a receiver provokes is its attempt's outcome
        if answer is None:
            return _failure(f"failed: {type(exc).__name__}: {_describe(exc)}", elapsed())
        answer.excerpt = answer.excerpt or f"(the body could not be read: {type(exc).__name__})"
    return answer.result(elapsed(), dt.datetime.now(dt.UTC))


class _Answer:
    """What arrived of the receiver's answer."""

    def __init__(self, *, status: int, retry_after: str | None, encoding: str) -> None:
        self.status = status
        self.retry_after = retry_after
        self.encoding = encoding
        self.excerpt = ""

    @property
    def succeeded(self) -> bool:
        return 200 <= self.status < 300

    def result(self, duration_ms: int, now: dt.datetime) -> AttemptResult:
        error = None
        if not self.succeeded:
            error = f"HTTP {self.status}" + (f": {self.excerpt}" if self.excerpt else "")
        return AttemptResult(
            status_code=self.status,
            error=storable_text(error),
            duration_ms=duration_ms,
            retry_after=parse_retry_after(self.retry_after, now),
        )


def _failure(error: str, duration_ms: int) -> AttemptResult:
    return AttemptResult(status_code=None, error=storable_text(error), duration_ms=duration_ms)


async def _read_excerpt(response: httpx.Response, encoding: str) -> str:
    if encoding.strip().lower() not in ("", "identity"):
        return f"({storable_text(encoding, 40)}-encoded body)"
    chunks = b""
    async for chunk in response.aiter_raw():
        chunks += chunk
        if len(chunks) >= RESPONSE_EXCERPT:
            break
    return decode_excerpt(chunks[:RESPONSE_EXCERPT], RESPONSE_EXCERPT)


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text[:300]
