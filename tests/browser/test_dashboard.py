"""The dashboard in real headless Chromium, signed in as an analyst, over the demo data, checked against the JSON API;
in English and in Lithuanian."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from babel.dates import format_date
from playwright.sync_api import expect
from werkzeug.serving import make_server

from bootstrap import create_app, upgrade_database
from importers.demo import load as load_demo
from runtime.settings import Settings
from tests.browser.chromium import ARTIFACTS, checked, chromium, require_chromium, sign_in
from tracker.stages import STAGES

pytestmark = pytest.mark.browser


PASSWORD = "a long enough pass phrase"


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
    for email, locale in (("ann@example.org", "en"), ("ausra@example.org", "lt")):
        person = services.people.create(actor_id="admin", name="Analyst", email=email, role="analyst", locale=locale)
        services.signin.set_password(person.id, PASSWORD, actor_id="admin")
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield {"base": f"http://127.0.0.1:{http.server_port}", "key": token, "client": app.test_client()}
    http.shutdown()
    services.close()


@pytest.fixture(scope="module")
def browser(server: dict[str, Any]) -> Iterator[Any]:
    with chromium() as found:
        yield found


def open_dashboard(browser: Any, server: dict[str, Any], email: str = "ann@example.org", locale: str = "en-GB") -> Any:
    """Signed in as an analyst, the dashboard with its portfolio drawn: no key to paste."""
    _, tab, errors = sign_in(browser, server["base"], email, PASSWORD, locale=locale)
    tab.console_errors = errors
    tab.goto(server["base"] + "/dashboard")
    settled(tab)
    return tab


def settled(tab: Any, seconds: float = 30) -> None:
    """Wait until the dashboard has drawn the view its address names (polled: the page's policy forbids eval)."""
    for _ in range(int(seconds * 20)):
        if tab.evaluate("document.body.dataset.rendered === location.hash"):
            return
        tab.wait_for_timeout(50)
    raise AssertionError(f"the dashboard did not draw {tab.url} within {seconds} s")


@pytest.fixture
def page(browser: Any, server: dict[str, Any]) -> Iterator[Any]:
    tab = open_dashboard(browser, server)
    yield tab
    tab.context.close()


def api_json(server: dict[str, Any], path: str, **params: Any) -> Any:
    headers = {"Authorization": f"Bearer {server['key']}"}
    response = server["client"].get(path, query_string=params or None, headers=headers)
    assert response.status_code == 200
    return response.json


def table_counts(page: Any, table: str, attribute: str) -> dict[str, int]:
    rows = page.locator(f"#{table} tbody tr")
    return {
        rows.nth(i).get_attribute(attribute): int(re.sub(r"\D", "", rows.nth(i).locator("td").nth(1).inner_text()))
        for i in range(rows.count())
    }


def test_the_dashboard_asks_for_a_sign_in_and_is_for_those_who_read_everything(
    browser: Any, server: dict[str, Any]
) -> None:
    context = browser.new_context()
    tab = context.new_page()
    tab.goto(server["base"] + "/dashboard")
    expect(tab.get_by_role("heading", name="Sign in")).to_be_visible()
    context.close()


def test_dashboard_funnel_matches_the_api_and_the_slider_replays_it(page: Any, server: dict[str, Any]) -> None:
    now = api_json(server, "/api/v1/analytics/funnel")
    assert table_counts(page, "funnel-table", "data-stage") == now["stages"]
    assert table_counts(page, "status-table", "data-status") == now["statuses"]
    stages = page.locator("#funnel-table tbody tr").evaluate_all("(rows) => rows.map((r) => r.dataset.stage)")
    assert stages == list(STAGES), "the funnel's stages in the domain's order"
    assert page.locator("#asof-label").inner_text() == "now"
    checked(page, "dashboard-now")

    slider = page.locator("#asof-slider")
    slider.focus()
    target = int(slider.get_attribute("max")) // 4  # early 2024: the demo portfolio was still moving
    slider.fill(str(target))  # sets the range value and fires input, as dragging does
    expect(page.locator("#asof-label")).not_to_have_text("now")
    as_of = page.locator("#asof-label").get_attribute("data-as-of")
    shown = format_date(date.fromisoformat(as_of[:10]), "long", locale="en")
    assert page.locator("#asof-label").inner_text() == shown
    expect(page.locator("#status")).to_contain_text(f"as of {shown}")
    settled(page)
    assert f"at={as_of[:10]}" in page.url
    then = api_json(server, "/api/v1/analytics/funnel", as_of=as_of)
    assert table_counts(page, "funnel-table", "data-stage") == then["stages"]
    assert then["stages"] != now["stages"], "the demo's history should change the funnel over time"
    # The score groups as of then: the largest from the score series, then every group with its median.
    series = api_json(server, "/api/v1/analytics/score-series", group_by="theme", top=12)
    point = next(p for p in series["points"] if p["at"] == as_of)
    expect(page.locator("#groups-table")).to_have_attribute("data-as-of", as_of)
    groups = api_json(server, "/api/v1/analytics/scores", group_by="theme", as_of=as_of)
    rows = page.locator("#groups-table tbody tr").evaluate_all(
        "(rows) => rows.map((r) => [...r.cells].map((c) => c.textContent))"
    )
    assert {row[0] for row in rows} == {item["key"] for item in groups["items"]}
    assert {g["key"] for g in point["groups"]} <= {row[0] for row in rows}
    for item in groups["items"]:
        shown = next(row for row in rows if row[0] == item["key"])
        assert shown[2:] == [f"{item['mean_mpi']:.1f}", f"{item['median_mpi']:.1f}"], item
    expect(page.locator("#groups-pending")).to_have_text("Every group and its median as of this date.")
    # Back to now before a month's medians have come: nothing is left marked busy.
    slider.fill(str(target + 1))
    page.keyboard.press("End")
    expect(page.locator("#asof-label")).to_have_text("now")
    expect(page).not_to_have_url(re.compile(r"at="))
    settled(page)
    expect(page.locator("#groups-table")).not_to_have_attribute("aria-busy", "true")
    assert page.locator("#groups-pending").inner_text() == ""
    page.screenshot(path=str(ARTIFACTS / "dashboard-as-of.png"), full_page=True)
    assert page.console_errors == []


def test_innovation_page_shows_timeline_scores_and_readable_history(page: Any, server: dict[str, Any]) -> None:
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
    checked(page, "dashboard-innovation")
    assert page.console_errors == []


def test_ecosystem_members_by_role_and_country_and_sortable_tables(page: Any, server: dict[str, Any]) -> None:
    page.get_by_role("link", name="Ecosystems", exact=True).click()
    page.get_by_role("link", name="V2V").click()
    expect(page.locator("#countries-table tbody tr").first).to_be_visible()
    assert page.locator("#countries-table tbody tr").count() == 10
    header = page.locator("#members-table th[data-key=country]")
    header.focus()
    page.keyboard.press("Enter")
    assert header.get_attribute("aria-sort") == "ascending"
    countries = page.locator("#members-table tbody tr td:nth-child(2)").all_inner_texts()
    assert countries == sorted(countries)
    checked(page, "dashboard-ecosystem")
    assert page.console_errors == []


def test_the_dashboard_in_lithuanian(browser: Any, server: dict[str, Any]) -> None:
    """Headings, the domain's names, the script's sentences, dates and numbers, all in Lithuanian."""
    tab = open_dashboard(browser, server, email="ausra@example.org", locale="lt-LT")
    assert tab.locator("html").get_attribute("lang") == "lt"
    expect(tab.locator("#funnel-caption")).to_have_text("Inovacijos pagal etapą")
    expect(tab.get_by_role("heading", name="Apžvalgos skydelis", exact=True)).to_be_visible()
    assert tab.locator("#funnel-table tbody tr[data-stage=testing] td").first.inner_text() == "išbandymas"
    expect(tab.locator("#status")).to_contain_text("Portfelis dabar")
    assert tab.locator("#asof-label").inner_text() == "dabar"
    means = [t for t in tab.locator("#groups-table tbody tr td:nth-child(3)").all_inner_texts() if t != "–"]
    assert means
    assert all("," in m and "." not in m for m in means), means  # a decimal comma
    checked(tab, "dashboard-lt")
    slider = tab.locator("#asof-slider")
    slider.fill(str(int(slider.get_attribute("max")) // 4))
    expect(tab.locator("#asof-label")).not_to_have_text("dabar")
    settled(tab)
    as_of = tab.locator("#asof-label").get_attribute("data-as-of")
    assert tab.locator("#asof-label").inner_text() == format_date(date.fromisoformat(as_of[:10]), "long", locale="lt")

    mainstreamed = next(i for i in api_json(server, "/api/v1/innovations?stage=mainstreamed")["items"])
    tab.goto(f"{server['base']}/dashboard#/innovations/{mainstreamed['id']}")
    settled(tab)
    history = tab.locator("#history-table").inner_text()
    assert "Pateikta „" in history
    assert "Perkelta iš etapo „vertinimas“ į „įtraukta į įprastą praktiką“" in history
    assert "Submitted" not in history
    checked(tab, "dashboard-innovation-lt")
    # The language switcher comes back to the same view, which lives after the address's # (the innovation, and the
    # instant the slider was left at), and back again.
    view = tab.evaluate("window.location.hash")
    assert view.startswith(f"#/innovations/{mainstreamed['id']}"), view
    for language, button, heading in (
        ("en", "Keisti kalbą", "Dashboard"),
        ("lt", "Change language", "Apžvalgos skydelis"),
    ):
        tab.locator("#switch-language").select_option(language)
        tab.get_by_role("button", name=button).click()
        expect(tab.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        settled(tab)
        assert tab.evaluate("window.location.hash") == view
        expect(tab.locator("#history-table")).to_contain_text("Pateikta „" if language == "lt" else "Submitted")
    assert tab.console_errors == []
    tab.context.close()
