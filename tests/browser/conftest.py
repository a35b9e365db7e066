"""Browser tests: Debian's Chromium driven by Playwright, against the app served live.

One browser and one live server per test session (per xdist worker); each test opens a
context of its own at a phone's viewport (360x740). Without Chromium the tests fail with
how to install it — they are never skipped.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from marketplace.settings import Settings

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
VIEWPORT = {"width": 360, "height": 740}
WEIGHTS_DIR = Path(__file__).resolve().parents[2] / ".data" / "test" / "page-weights"
# A screenshot of every step the browser tests check, one folder per test.
SCREENSHOTS_DIR = WEIGHTS_DIR.parent / "screenshots"


@pytest.fixture(scope="session")
async def live_url(settings: Settings) -> AsyncIterator[str]:
    """The app on an ephemeral port, served in the tests' own event loop."""
    from marketplace.app import create_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task
    sock.close()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"Chromium is not at {CHROMIUM}: install it with `apt-get install -y chromium` "
            "(Debian's package; .ci/run does it), or name another with CHROMIUM=/path.",
            pytrace=False,
        )
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield launched
        await launched.close()


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    opened = await browser.new_context(viewport=VIEWPORT, locale="id-ID", has_touch=True)
    yield opened
    await opened.close()


@pytest.fixture
async def page(context: BrowserContext) -> Page:
    return await context.new_page()
