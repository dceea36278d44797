"""What the browser tests share: Debian's Chromium driven by Playwright, and the checks every page is held to
(no serious or critical axe-core violation, no horizontal scrolling at 360 px)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "var" / "test-artifacts"
CHROMIUM = os.environ.get("TRACKER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"Chromium is required (REQUIRE_BROWSER=1) but {CHROMIUM} is missing")
        pytest.skip(f"Chromium not installed at {CHROMIUM}")


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium (Playwright's browser object)."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def watch_errors(tab: Any) -> list[str]:
    """Collect the page's console errors, uncaught exceptions, and failed loads of anything but the page itself (a
    refused form answers 4xx by design; a missing script, style or API answer is an error)."""
    errors: list[str] = []

    def console(msg: Any) -> None:
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            errors.append(msg.text)

    def response(answer: Any) -> None:
        if answer.status >= 400 and answer.request.resource_type != "document":
            errors.append(f"{answer.status} {answer.request.method} {answer.url}")

    tab.on("console", console)
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on("response", response)
    return errors


def serious_violations(tab: Any) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now, one line each."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(tab)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def scrolls_sideways(tab: Any) -> bool:
    """Whether the page is wider than the window (at 360 px, a page must reflow instead)."""
    return bool(tab.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth"))
