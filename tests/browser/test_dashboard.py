"""The dashboard in real headless Chromium, over the demo data, checked against the JSON API."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from bootstrap import create_app, upgrade_database
from importers.demo import load as load_demo
from runtime.settings import Settings
from tests.browser.chromium import ARTIFACTS, chromium, require_chromium, watch_errors

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    require_chromium()
    url = f"sqlite:///{tmp_path_factory.mktemp('dashboard')}/tracker.db"
    settings = Settings(database_url=url)
    upgrade_database(settings)
    app = create_app(settings)
    services = app.extensions["tracker"]
    load_demo(services.app)
    services.read_model.catch_up()
    token, _ = services.keys.create(name="browser-analyst", role="analyst")
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield {"base": f"http://127.0.0.1:{http.server_port}", "key": token, "client": app.test_client()}
    http.shutdown()
    services.close()


@pytest.fixture
def page(server: dict[str, Any]) -> Iterator[Any]:
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        tab = context.new_page()
        tab.console_errors = watch_errors(tab)  # type: ignore[attr-defined]
        yield tab
        context.close()


def api_json(server: dict[str, Any], path: str) -> Any:
    response = server["client"].get(path, headers={"Authorization": f"Bearer {server['key']}"})
    assert response.status_code == 200
    return response.json


def table_counts(page: Any, table: str, attribute: str) -> dict[str, int]:
    rows = page.locator(f"#{table} tbody tr")
    return {
        rows.nth(i).get_attribute(attribute): int(rows.nth(i).locator("td").nth(1).inner_text())
        for i in range(rows.count())
    }


def enter_key(page: Any, server: dict[str, Any]) -> None:
    page.goto(server["base"] + "/dashboard")
    # Not signed in to the pages, the dashboard's first reads are refused until a key is entered.
    expect(page.locator("#status")).to_contain_text("Sign in, or enter an analyst API key")
    page.console_errors.clear()
    page.get_by_label("Analyst API key").fill(server["key"])
    page.get_by_role("button", name="Use key").click()
    expect(page.locator("#innovations-table tbody tr").first).to_be_visible()


def test_dashboard_funnel_matches_the_api_and_the_slider_replays_it(page: Any, server: dict[str, Any]) -> None:
    enter_key(page, server)
    now = api_json(server, "/api/v1/analytics/funnel")
    assert table_counts(page, "funnel-table", "data-stage") == now["stages"]
    assert table_counts(page, "status-table", "data-status") == now["statuses"]
    assert page.locator("#asof-label").inner_text() == "now"
    page.screenshot(path=str(ARTIFACTS / "dashboard-now.png"), full_page=True)

    slider = page.locator("#asof-slider")
    slider.focus()
    target = int(slider.get_attribute("max")) // 4  # early 2024: the demo portfolio was still moving
    slider.fill(str(target))  # sets the range value and fires input, as dragging does
    expect(page.locator("#asof-label")).not_to_have_text("now")
    as_of = page.locator("#asof-label").inner_text()
    expect(page.locator("#status")).to_contain_text(f"as of {as_of}")
    then = api_json(server, f"/api/v1/analytics/funnel?as_of={as_of}T00:00:00Z")
    assert table_counts(page, "funnel-table", "data-stage") == then["stages"]
    assert then["stages"] != now["stages"], "the demo's history should change the funnel over time"
    page.keyboard.press("Home")
    expect(page.locator("#asof-label")).not_to_have_text(as_of)
    page.screenshot(path=str(ARTIFACTS / "dashboard-as-of.png"), full_page=True)
    assert page.console_errors == []


def test_innovation_page_shows_timeline_scores_and_readable_history(page: Any, server: dict[str, Any]) -> None:
    enter_key(page, server)
    mainstreamed = next(i for i in api_json(server, "/api/v1/innovations?stage=mainstreamed")["items"])
    page.get_by_role("link", name=mainstreamed["title"]).first.click()
    expect(page.locator("#history-table tbody tr").first).to_be_visible()
    stages = api_json(server, f"/api/v1/innovations/{mainstreamed['id']}/stages")
    history = api_json(server, f"/api/v1/innovations/{mainstreamed['id']}/history")
    timeline = page.locator("#timeline-table tbody tr")
    assert timeline.count() == len(stages) == 5
    assert timeline.nth(4).locator("td").nth(2).inner_text() == "current"
    rows = page.locator("#history-table tbody tr")
    assert rows.count() == len(history)
    assert rows.nth(0).locator("td").nth(3).inner_text().startswith("Submitted “")
    assert "Advanced from assessment to mainstreamed" in page.locator("#history-table").inner_text()
    assert page.locator("#score-table tbody tr").count() == len(
        api_json(server, f"/api/v1/innovations/{mainstreamed['id']}/scores")
    )
    page.screenshot(path=str(ARTIFACTS / "innovation.png"), full_page=True)
    assert page.console_errors == []


def test_ecosystem_members_by_role_and_country_and_sortable_tables(page: Any, server: dict[str, Any]) -> None:
    enter_key(page, server)
    page.get_by_role("link", name="Ecosystems").click()
    page.get_by_role("link", name="V2V").click()
    expect(page.locator("#countries-table tbody tr").first).to_be_visible()
    assert page.locator("#countries-table tbody tr").count() == 10
    header = page.locator("#members-table th[data-key=country]")
    header.focus()
    page.keyboard.press("Enter")
    assert header.get_attribute("aria-sort") == "ascending"
    countries = page.locator("#members-table tbody tr td:nth-child(2)").all_inner_texts()
    assert countries == sorted(countries)
    page.screenshot(path=str(ARTIFACTS / "ecosystem.png"), full_page=True)
    assert page.console_errors == []


def test_dashboard_assets_are_served_locally(server: dict[str, Any]) -> None:
    index = server["client"].get("/dashboard")
    html = index.get_data(as_text=True)
    index.close()
    assert "script-src 'self'" in index.headers["Content-Security-Policy"]
    assert "/dashboard/vendor/chart.js" in html
    assert "http://" not in html
    assert "https://" not in html
    chart = server["client"].get("/dashboard/vendor/chart.js")
    assert b"Chart.js v4" in chart.data[:200]
    chart.close()
