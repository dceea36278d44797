"""The analysts' audit pages over Flask's test client: the trail filtered by person, event type and day; the chain's
head, and the log checked against a head recorded earlier."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask.testing import FlaskClient

from tests.pages.conftest import Pages
from tests.world import FULL_SCORES


def rows(client: FlaskClient, path: str) -> str:
    """The trail's table rows (the filters' options name every event type too)."""
    html = client.get(path).get_data(as_text=True)
    return html.split("<tbody>")[1].split("</tbody>")[0] if "<tbody>" in html else ""


@pytest.fixture
def analyst(pages: Pages) -> FlaskClient:
    pages.person("analyst", "aino@example.org", name="Aino Laine")
    client = pages.client()
    assert pages.sign_in(client, "aino@example.org").status_code == 302
    return client


def test_the_trail_filters_by_person_event_type_and_day(pages: Pages, analyst: FlaskClient) -> None:
    eva = pages.person("evaluator", "eva@example.org", organisation=pages.world.eval_org_a, name="Eva Dubois")
    iid = pages.world.submit(title="Audited idea")
    pages.services.app.assign_evaluator(
        iid, actor=pages.world.manager, evaluator_id=str(eva.id), evaluator_organisation_id=eva.organisation_id
    )
    pages.services.app.record_assessment(iid, actor=eva.actor(), scores=FULL_SCORES, rationale="fine")
    pages.services.read_model.catch_up()
    everything = rows(analyst, "/audit")
    assert "registered" in everything
    assert "assessment recorded" in everything
    hers = rows(analyst, f"/audit?person={eva.id}")
    assert "Eva Dubois (evaluator)" in hers
    assert "evaluator assigned" not in hers, "the manager's assignment is listed under the evaluator"
    typed = rows(analyst, "/audit?type=EvaluatorAssigned")
    assert "evaluator assigned" in typed
    assert "assessment recorded" not in typed
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    assert "No event matches." in analyst.get(f"/audit?since={tomorrow}").get_data(as_text=True)
    # Each innovation's link is named by its title, not all by the word "innovation".
    assert f'/innovations/{iid}">Audited idea</a>' in analyst.get("/audit").get_data(as_text=True)
    today = date.today().isoformat()
    swapped = analyst.get(f"/audit?since={tomorrow}&until={today}").get_data(as_text=True)
    assert "The first day is after the last" in swapped
    assert "The first day is after the last" not in analyst.get(f"/audit?since={today}&until={today}").get_data(True)


def test_the_trail_names_the_tracker_and_the_importers_as_actors_too(pages: Pages, analyst: FlaskClient) -> None:
    from tracker.actors import Actor

    app = pages.services.app
    app.register_organisation(actor=Actor("cove-import", "importer"), name="Imported", country="LT", kind="ngo")
    app.register_organisation(actor=Actor("demo-loader", "system"), name="Loaded", country="LT", kind="ngo")
    pages.services.read_model.catch_up()
    trail = rows(analyst, "/audit")
    assert "cove-import (importer)" in trail
    assert "demo-loader (the tracker)" in trail
    assert "(system)" not in trail


def test_the_chain_page_checks_the_log_against_an_earlier_head(pages: Pages, analyst: FlaskClient) -> None:
    pages.services.read_model.catch_up()
    page = analyst.get("/audit/chain").get_data(as_text=True)
    head = page.split("<code>")[1].split("</code>")[0]
    position = page.split("<dt>Position</dt><dd>")[1].split("</dd>")[0]
    ok = analyst.get("/audit/chain", query_string={"position": position, "hash": head})
    assert ok.status_code == 200
    assert "The event log matches" in ok.get_data(as_text=True)
    wrong = analyst.get("/audit/chain", query_string={"position": position, "hash": "0" * 64})
    assert "The event log does not match" in wrong.get_data(as_text=True)
    bad = analyst.get("/audit/chain", query_string={"position": "x", "hash": "y"})
    assert bad.status_code == 422


def test_providers_and_evaluators_may_not_read_the_audit(pages: Pages) -> None:
    pages.person("provider", "paulius@example.org", organisation=pages.world.owner)
    client = pages.client()
    pages.sign_in(client, "paulius@example.org")
    assert client.get("/audit").status_code == 403
    assert client.get("/audit/chain").status_code == 403
