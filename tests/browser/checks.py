"""What every page must pass in the browser: axe-core, no sideways scrolling, touch targets,
and its weight on first load (printed and recorded for the run's summary)."""

from __future__ import annotations

import os
import re
import shutil
from typing import Any
from urllib.parse import urlsplit

from bench.page_weight import first_load
from playwright.async_api import Page

from tests.browser.conftest import AXE, SCREENSHOTS_DIR, VIEWPORT, WEIGHTS_DIR

MAX_FIRST_LOAD_BYTES = 100 * 1024
MIN_TARGET_PX = 44


async def assert_accessible(page: Page) -> None:
    """axe-core (vendored from the npm registry) finds nothing serious or critical."""
    await page.add_script_tag(path=str(AXE))
    violations: list[dict[str, Any]] = await page.evaluate(
        """async () => (await axe.run(document)).violations.map(
            v => ({id: v.id, impact: v.impact, help: v.help,
                   targets: v.nodes.map(n => n.target.join(' '))}))"""
    )
    grave = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert grave == [], f"{page.url}: {grave}"


async def assert_fits_a_phone(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= VIEWPORT["width"], f"{page.url} scrolls sideways: {width} px wide"
    small: list[dict[str, Any]] = await page.evaluate(
        f"""() => [...document.querySelectorAll('a, button, input, select, textarea')]
            .filter(e => e.type !== 'hidden' && e.offsetParent !== null
                         && !e.classList.contains('skip'))
            .map(e => {{ const r = e.getBoundingClientRect();
                        return {{tag: e.tagName, text: e.textContent.trim().slice(0, 30),
                                 w: r.width, h: r.height}}; }})
            .filter(r => r.h < {MIN_TARGET_PX} || r.w < {MIN_TARGET_PX})"""
    )
    assert small == [], f"{page.url}: touch targets under {MIN_TARGET_PX} px: {small}"


async def first_load_weight(page: Page, url: str, name: str) -> int:
    """Bytes over the wire (compressed) for the page and everything it loads, cache empty."""
    total, requests = await first_load(page, url)
    line = f"{name}: {total / 1024:.1f} KB compressed on first load ({requests} requests)"
    print(f"page weight {line}")
    WEIGHTS_DIR.mkdir(parents=True, exist_ok=True)
    (WEIGHTS_DIR / f"{name.strip('/').replace('/', '_') or 'root'}.txt").write_text(line + "\n")
    assert total < MAX_FIRST_LOAD_BYTES, line
    return total


async def check_page(page: Page) -> None:
    await assert_accessible(page)
    await assert_fits_a_phone(page)
    await screenshot(page)


_steps: dict[str, int] = {}


async def screenshot(page: Page) -> None:
    """The page as the phone shows it, numbered in the order the test checked its steps:
    .data/test/screenshots/<test>/<nn>-<path>.png."""
    current = os.environ.get("PYTEST_CURRENT_TEST", "test").split(" ")[0]
    test = re.sub(r"[^A-Za-z0-9_-]+", "_", current.rsplit("::", 1)[-1])
    step = _steps[test] = _steps.get(test, 0) + 1
    where = re.sub(r"[^A-Za-z0-9_-]+", "_", urlsplit(page.url).path.strip("/")) or "root"
    folder = SCREENSHOTS_DIR / test
    if step == 1:  # this run's steps only, not an earlier run's beside them
        shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(folder / f"{step:02d}-{where}.png"), full_page=True)
