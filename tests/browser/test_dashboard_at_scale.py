"""The dashboard over a portfolio too large for one page: 5,000 generated innovations (written through the store in
batches, as the benchmarks write theirs, and projected by a rebuild), 260 ecosystems, and a country whose few
innovations all come after the first 200 rows. Every figure on the page is checked against the JSON API."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from bench.portfolio import Portfolio
from bootstrap import create_app, open_application, upgrade_database
from projections.read_model import ReadModel
from runtime.settings import Settings
from tests.browser.chromium import checked, chromium, require_chromium, sign_in
from tests.browser.test_dashboard import PASSWORD, settled
from tracker.actors import Actor

pytestmark = pytest.mark.browser
INNOVATIONS = 5_000
RARE = "MT"  # Malta: three innovations, none scored, so they sort after every scored one


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    require_chromium()
    url = f"sqlite:///{tmp_path_factory.mktemp('scale')}/tracker.db"
    settings = Settings(database_url=url)
    upgrade_database(settings)
    # The portfolio is written first and projected by one rebuild, as an admin would after a bulk load: projected
    # batch by batch by the web app's follower it takes about twice as long.
    store = open_application(url)
    try:
        Portfolio(store, organisations=600, ecosystems=260).generate_innovations(INNOVATIONS, per_save=250)
        maltese = store.register_organisation(
            actor=Actor("admin", "admin"),
            name="Malta College of Arts, Science and Technology",
            country=RARE,
            kind="vet_provider",
        ).aggregate_id
        provider = Actor("provider-mt", "provider", maltese)
        for n in range(3):
            store.submit_innovation(
                actor=provider,
                title=f"Maltese apprenticeship idea {n}",
                summary="s",
                themes=["mobility"],
                organisation_id=maltese,
            )
        read_model = ReadModel(store, url)
        try:
            read_model.rebuild()
        finally:
            read_model.close()
    finally:
        store.close()
    app = create_app(settings)
    services = app.extensions["tracker"]
    token, _ = services.keys.create(name="scale-analyst", role="analyst")
    person = services.people.create(actor_id="admin", name="Analyst", email="ann@example.org", role="analyst")
    services.signin.set_password(person.id, PASSWORD, actor_id="admin")
    http = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    yield {"base": f"http://127.0.0.1:{http.server_port}", "key": token, "client": app.test_client()}
    http.shutdown()
    services.close()


@pytest.fixture(scope="module")
def browser(server: dict[str, Any]) -> Iterator[Any]:
    with chromium() as found:
        yield found


@pytest.fixture
def tab(browser: Any, server: dict[str, Any]) -> Iterator[Any]:
    context, page, errors = sign_in(browser, server["base"], "ann@example.org", PASSWORD)
    page.console_errors = errors
    page.goto(f"{server['base']}/dashboard")
    settled(page)
    yield page
    context.close()


def api(server: dict[str, Any], path: str, **params: Any) -> Any:
    headers = {"Authorization": f"Bearer {server['key']}"}
    answer = server["client"].get(path, query_string=params or None, headers=headers)
    assert answer.status_code == 200, answer.json
    return answer.json


def shown_total(tab: Any) -> int:
    """The list's total as the pager says it: "Showing 1–50 of 5,003"."""
    text = tab.locator("#page-range").inner_text()
    return int(re.sub(r"\D", "", text.rsplit("of", 1)[1]))


def test_a_country_beyond_the_first_200_rows_is_offered_and_the_total_is_right(
    tab: Any, server: dict[str, Any]
) -> None:
    everything = api(server, "/api/v1/innovations", page_size=200, sort="-mpi")
    assert everything["total"] == INNOVATIONS + 3
    assert RARE not in {i["country"] for i in everything["items"]}, "the rare country must come after the first 200"
    options = tab.locator("#f-country option").all_inner_texts()
    assert f"{RARE} (3)" in options
    assert shown_total(tab) == INNOVATIONS + 3
    assert tab.locator("#innovations-table tbody tr").count() == 50
    tab.locator("#f-country").select_option(RARE)
    settled(tab)
    assert "country=MT" in tab.url
    assert shown_total(tab) == 3
    titles = tab.locator("#innovations-table tbody tr td:nth-child(2)").all_inner_texts()
    assert sorted(titles) == [f"Maltese apprenticeship idea {n}" for n in range(3)]
    assert tab.console_errors == []


def test_sorting_by_title_goes_through_the_server_and_paging_reaches_the_last_page(
    tab: Any, server: dict[str, Any]
) -> None:
    tab.locator("#innovations-table th[data-sort=title] button").click()
    settled(tab)
    assert "sort=title" in tab.url
    first = api(server, "/api/v1/innovations", sort="title", page_size=1)["items"][0]["title"]
    assert tab.locator("#innovations-table tbody tr td:nth-child(2)").first.inner_text() == first
    assert tab.locator("#innovations-table th[data-sort=title]").get_attribute("aria-sort") == "ascending"
    tab.locator("#innovations-table th[data-sort=title] button").click()
    settled(tab)
    last = api(server, "/api/v1/innovations", sort="-title", page_size=1)["items"][0]["title"]
    assert tab.locator("#innovations-table tbody tr td:nth-child(2)").first.inner_text() == last
    tab.get_by_role("button", name="Last").focus()
    tab.keyboard.press("Enter")
    settled(tab)
    # The focused button is now disabled: the keyboard's place moves to the nearest one still in use.
    assert tab.evaluate("document.activeElement.id") == "page-previous"
    total = INNOVATIONS + 3
    pages = -(-total // 50)
    assert f"page={pages}" in tab.url
    assert tab.locator("#page-range").inner_text() == f"Showing {(pages - 1) * 50 + 1:,}–{total:,} of {total:,}"
    assert tab.locator("#innovations-table tbody tr").count() == total - (pages - 1) * 50
    assert tab.get_by_role("button", name="Next").is_disabled()
    # The back button returns to the first page of the same sort.
    tab.go_back()
    settled(tab)
    assert "page=" not in tab.url
    assert tab.locator("#innovations-table tbody tr td:nth-child(2)").first.inner_text() == last
    checked(tab, "dashboard-scale-sorted")
    assert tab.console_errors == []


def test_a_shared_address_restores_the_same_view(tab: Any, browser: Any, server: dict[str, Any]) -> None:
    tab.locator("#f-theme").select_option("mobility")
    settled(tab)
    tab.locator("#innovations-table th[data-sort=country] button").click()
    settled(tab)
    tab.locator("#group-by").select_option("ecosystem")
    settled(tab)
    slider = tab.locator("#asof-slider")
    slider.fill(str(int(slider.get_attribute("max")) - 12))
    expect(tab.locator("#asof-label")).not_to_have_text("now")
    expect(tab).to_have_url(re.compile(r"at=\d{4}-\d{2}-01"))  # once the slider rests, the address says where
    settled(tab)
    tab.get_by_role("button", name="Next").click()
    settled(tab)
    as_of = tab.locator("#asof-label").get_attribute("data-as-of")
    expect(tab.locator("#groups-table")).to_have_attribute("data-as-of", as_of)  # every group, with its median
    shared = tab.url
    seen = {
        "range": tab.locator("#page-range").inner_text(),
        "rows": tab.locator("#innovations-table tbody tr td:nth-child(2)").all_inner_texts(),
        "as of": tab.locator("#asof-label").inner_text(),
        "funnel": tab.locator("#funnel-table tbody").inner_text(),
        "groups": tab.locator("#groups-table tbody").inner_text(),
    }
    context, colleague, errors = sign_in(browser, server["base"], "ann@example.org", PASSWORD)
    colleague.goto(shared)
    settled(colleague)
    expect(colleague.locator("#groups-table")).to_have_attribute("data-as-of", as_of)
    assert colleague.locator("#f-theme").input_value() == "mobility"
    assert colleague.locator("#group-by").input_value() == "ecosystem"
    assert colleague.locator("#innovations-table th[data-sort=country]").get_attribute("aria-sort") == "ascending"
    assert {
        "range": colleague.locator("#page-range").inner_text(),
        "rows": colleague.locator("#innovations-table tbody tr td:nth-child(2)").all_inner_texts(),
        "as of": colleague.locator("#asof-label").inner_text(),
        "funnel": colleague.locator("#funnel-table tbody").inner_text(),
        "groups": colleague.locator("#groups-table tbody").inner_text(),
    } == seen
    assert seen["range"].startswith("Showing 51–100 of ")
    assert errors == []
    context.close()


def test_the_ecosystem_type_ahead_finds_one_beyond_the_first_200(tab: Any, server: dict[str, Any]) -> None:
    # An ecosystem that none of the page's first 200 suggestions (the facet's largest) names.
    offered = api(server, "/api/v1/analytics/facets", facet="ecosystem", limit=200)["facets"]["ecosystem"]
    assert offered["total"] == 260
    shown = {v["label"] for v in offered["items"]}
    every = {
        e["acronym"]: e["id"]
        for page in (1, 2)
        for e in api(server, "/api/v1/ecosystems", page=page, page_size=200)["items"]
    }
    wanted = sorted(set(every) - shown)[0]
    assert not tab.locator("#ecosystem-choices option", has_text=wanted).count()
    field = tab.get_by_label("Ecosystem", exact=True)
    field.fill(wanted[:-1])
    option = tab.locator("#ecosystem-choices option", has_text=wanted)
    expect(option).to_have_count(1)
    field.fill(option.evaluate("(o) => o.value"))
    expect(tab).to_have_url(re.compile(f"eco={every[wanted]}"))
    settled(tab)
    expected = api(server, "/api/v1/innovations", ecosystem_id=every[wanted], page_size=1)["total"]
    assert shown_total(tab) == expected
    assert set(tab.locator("#innovations-table tbody tr td:nth-child(7)").all_inner_texts()) == {wanted}
    assert field.input_value() == wanted
    # A colleague opening the same address reads the ecosystem's name, not its id.
    colleague = tab.context.new_page()
    colleague.goto(tab.url)
    settled(colleague)
    assert colleague.get_by_label("Ecosystem", exact=True).input_value() == wanted
    colleague.close()
    checked(tab, "dashboard-scale-ecosystem")
    assert tab.console_errors == []


def test_the_ecosystems_page_is_paged_and_searched_by_the_server(tab: Any, server: dict[str, Any]) -> None:
    tab.get_by_role("link", name="Ecosystems", exact=True).click()
    settled(tab)
    assert tab.locator("#eco-range").inner_text() == "Showing 1–50 of 260"
    tab.locator("#eco-last").click()
    settled(tab)
    assert tab.locator("#eco-range").inner_text() == "Showing 251–260 of 260"
    tab.get_by_label("Search acronyms and titles").fill("ECO25")
    expect(tab.locator("#eco-range")).to_have_text("Showing 1–10 of 10")
    tab.locator("#ecosystems-table th[data-sort=member_count] button").click()
    settled(tab)
    assert "esort=member_count" in tab.url
    checked(tab, "dashboard-scale-ecosystems")
    assert tab.console_errors == []
