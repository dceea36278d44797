"""Debian's Chromium driven by Playwright, as the browser tests drive it: the dashboard's timings at scale (the time
to its first complete view, and to each step of its slider)."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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
# The dashboard marks the view it has drawn (document.body.dataset.rendered = the address's hash).
DRAWN = "document.body.dataset.rendered === location.hash"


def chromium_present() -> bool:
    return Path(CHROMIUM).exists()


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium (Playwright's browser object)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _wait_drawn(tab: Any, timeout: float = 60, drawn: str = DRAWN, every: float = 0.005) -> None:
    """Poll (the page's policy forbids eval, which Playwright's wait_for_function uses)."""
    deadline = time.perf_counter() + timeout
    while not tab.evaluate(drawn):
        if time.perf_counter() > deadline:
            raise TimeoutError(f"the dashboard did not draw {tab.url}")
        time.sleep(every)


def _since_slid(tab: Any, mark: str, timeout: float = 60) -> float:
    """Wait for the page's mark after the last slider step (polled every 50 ms, so that the polling takes no CPU
    from the page and the server it shares the cores with), and return its time from that step."""
    deadline = time.perf_counter() + timeout
    while (found := tab.evaluate(SINCE_SLID, mark)) is None:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"the dashboard set no {mark} after the slider moved")
        time.sleep(0.05)
    return float(found)


# The groups' table holds every group with its median as of the slider's date (its data-as-of is that date).
MEDIANS = "document.getElementById('groups-table').dataset.asOf === document.getElementById('asof-label').dataset.asOf"
# Milliseconds from the slider's input event to a User Timing mark the page sets (dashboard:drawn when it has drawn
# the whole view, dashboard:medians when every group's median is in), in the page's own clock.
SINCE_SLID = """(name) => {
  const slid = performance.getEntriesByName("dashboard:slid").pop();
  const done = performance.getEntriesByName(name).pop();
  return slid && done && done.startTime >= slid.startTime ? done.startTime - slid.startTime : null;
}"""


def dashboard_timings(base: str, email: str, password: str, loads: int = 5, steps: int = 10) -> dict[str, list[float]]:
    """Milliseconds: to the first complete view (the page opened afresh, `loads` times); to the funnel and the
    largest score groups redrawn at a slider step; to the whole view settled on that step (list, facets and charts
    as of its date); and to every score group's median as of that date, which the page fills in last."""
    rng = random.Random(7)
    found: dict[str, list[float]] = {
        "first view": [],
        "slider step (funnel)": [],
        "slider step (whole view)": [],
        "slider step (medians by group)": [],
    }
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        tab = context.new_page()
        tab.goto(f"{base}/login")
        tab.locator("#email").fill(email)
        tab.locator("#password").fill(password)
        tab.locator("main button[type=submit]").click()
        tab.wait_for_url(f"{base}/")
        for _ in range(loads):
            tab.goto("about:blank")
            started = time.perf_counter()
            tab.goto(f"{base}/dashboard")
            _wait_drawn(tab)
            found["first view"].append((time.perf_counter() - started) * 1000)
        slider = tab.locator("#asof-slider")
        last = int(slider.get_attribute("max") or 0)
        for _ in range(steps):
            position = rng.randint(0, max(last - 1, 0))
            tab.evaluate("performance.clearMarks()")
            started = time.perf_counter()
            slider.fill(str(position))  # the funnel is redrawn from the series within the input event
            found["slider step (funnel)"].append((time.perf_counter() - started) * 1000)
            found["slider step (whole view)"].append(_since_slid(tab, "dashboard:drawn"))
            found["slider step (medians by group)"].append(_since_slid(tab, "dashboard:medians"))
            _wait_drawn(tab, drawn=MEDIANS, every=0.05)
        context.close()
    return found
