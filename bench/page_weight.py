"""A page's weight on first load, as a phone on a cold cache fetches it: the compressed
bytes of the HTML and of everything it loads (Chrome DevTools Protocol's
`encodedDataLength`), with the browser cache cleared and disabled. The browser tests and
`bench.pages` measure it the same way."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page


async def first_load(page: Page, url: str) -> tuple[int, int]:
    """(bytes over the wire, requests) for `url` and what it loads, cache empty."""
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("Network.enable")
    await cdp.send("Network.clearBrowserCache")
    await cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    sizes: dict[str, float] = {}

    def finished(event: dict[str, Any]) -> None:
        sizes[event["requestId"]] = event["encodedDataLength"]

    cdp.on("Network.loadingFinished", finished)
    try:
        await page.goto(url, wait_until="networkidle")
    finally:
        await cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})
        await cdp.detach()
    return int(sum(sizes.values())), len(sizes)
