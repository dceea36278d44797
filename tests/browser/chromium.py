"""What the browser tests share: Debian's Chromium driven by Playwright, and the checks every page is held to
(no serious or critical axe-core violation, no horizontal scrolling at 360 px)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from bench.browser import CHROMIUM
from bench.browser import chromium as launched

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "var" / "test-artifacts"


def require_chromium() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"Chromium is required (REQUIRE_BROWSER=1) but {CHROMIUM} is missing")
        pytest.skip(f"Chromium not installed at {CHROMIUM}")


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium (Playwright's browser object), with the screenshots' folder ready."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with launched() as browser:
        yield browser


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


def too_wide(tab: Any) -> list[str]:
    """The outermost elements that reach past the window's right edge (what makes a page scroll sideways)."""
    return list(
        tab.evaluate(
            """() => {
              const past = (e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1;
              return [...document.querySelectorAll("body *")].filter((e) => past(e) && !past(e.parentElement))
                .slice(0, 5).map((e) => `${e.tagName.toLowerCase()}#${e.id}.${e.className}`);
            }"""
        )
    )


def checked(tab: Any, name: str) -> None:
    """The page as it is now: no serious accessibility finding; no sideways scrolling at 360 px; a screenshot."""
    assert serious_violations(tab) == [], name
    tab.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    size = tab.viewport_size
    tab.set_viewport_size({"width": 360, "height": 740})
    assert not scrolls_sideways(tab), f"{name} scrolls sideways at 360 px: {too_wide(tab)}"
    tab.screenshot(path=str(ARTIFACTS / f"{name}-360.png"), full_page=True)
    tab.set_viewport_size(size)


def sign_in(browser: Any, base: str, email: str, password: str, locale: str = "en-GB") -> tuple[Any, Any, list[str]]:
    """A new browser context signed in to the tracker's pages at `base`: (context, tab, the tab's errors)."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale=locale)
    tab = context.new_page()
    errors = watch_errors(tab)
    tab.goto(f"{base}/login")
    tab.locator("#email").fill(email)
    tab.locator("#password").fill(password)
    tab.locator("main button[type=submit]").click()
    expect(tab.locator("ul.cards")).to_be_visible()
    return context, tab, errors
