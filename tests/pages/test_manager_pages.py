"""The manager's portfolio and round pages over Flask's test client: round progress, assigning from the eligible
evaluators only, ending an assignment, the gate's checklist from the domain, the decision, a stale form, CSRF."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

import pytest
from flask.testing import FlaskClient

from tests.pages.conftest import Pages, csrf_of
from tests.world import FULL_SCORES


@pytest.fixture
def desk(pages: Pages) -> dict[str, Any]:
    """A manager signed in, three evaluators (one from the owning organisation), and an innovation in
    identification."""
    world = pages.world
    pages.person("manager", "marta@example.org", name="Marta Moreau")
    manager = pages.client()
    assert pages.sign_in(manager, "marta@example.org").status_code == 302
    eva = pages.person("evaluator", "eva@example.org", organisation=world.eval_org_a, name="Eva Dubois")
    erik = pages.person("evaluator", "erik@example.org", organisation=world.eval_org_b, name="Erik Schmidt")
    owner = pages.person("evaluator", "olga@example.org", organisation=world.owner, name="Olga Owner")
    iid = world.submit(title="Dual learning mentors")
    pages.services.read_model.catch_up()
    return {"client": manager, "id": iid, "eva": eva, "erik": erik, "owner": owner}


def events(pages: Pages, iid: UUID) -> list[str]:
    return [r.type for r in pages.services.app.history(iid)]


def assign(client: FlaskClient, iid: UUID, person_id: Any, **extra: str) -> Any:
    token = csrf_of(client.get(f"/manage/{iid}"))
    return client.post(f"/manage/{iid}/assignments", data={"csrf_token": token, "evaluator": str(person_id), **extra})


def test_the_round_page_offers_only_evaluators_free_of_a_conflict_of_interest(
    pages: Pages, desk: dict[str, Any]
) -> None:
    page = desk["client"].get(f"/manage/{desk['id']}").get_data(as_text=True)
    assert "Eva Dubois (0 open)" in page
    assert "Erik Schmidt (0 open)" in page
    assert "Olga Owner" not in page
    refused = assign(desk["client"], desk["id"], desk["owner"].id)
    assert refused.status_code == 422
    assert "Choose one of the evaluators listed." in refused.get_data(as_text=True)
    assert "EvaluatorAssigned" not in events(pages, desk["id"])


def test_assigning_and_ending_an_assignment_and_the_portfolio_shows_progress(
    pages: Pages, desk: dict[str, Any]
) -> None:
    client, iid = desk["client"], desk["id"]
    late = assign(client, iid, desk["eva"].id, due_on="2020-01-31")
    assert late.status_code == 422
    assert "The due date must not be before today." in late.get_data(as_text=True)
    assert assign(client, iid, desk["eva"].id, due_on="2030-01-31").status_code == 302
    assert assign(client, iid, desk["erik"].id).status_code == 302
    page = client.get(f"/manage/{iid}").get_data(as_text=True)
    assert "Eva Dubois" in page
    assert "Jan 31, 2030" in page
    assert "Eva Dubois (" not in page, "an assigned evaluator is offered again"
    portfolio = client.get("/portfolio?stage=identification").get_data(as_text=True)
    assert "Dual learning mentors" in portfolio
    assert "0 of 2 assessed" in portfolio
    pages.services.app.record_assessment(iid, actor=desk["eva"].actor(), scores=FULL_SCORES, rationale="fine")
    pages.services.read_model.catch_up()
    assert "1 of 2 assessed" in client.get("/portfolio").get_data(as_text=True)
    # Erik has not assessed: his assignment can end; Eva's cannot.
    token = csrf_of(client.get(f"/manage/{iid}"))
    refused = client.post(f"/manage/{iid}/assignments/{desk['eva'].id}/end", data={"csrf_token": token})
    assert refused.status_code == 409
    assert "already assessed" in refused.get_data(as_text=True)
    ended = client.post(f"/manage/{iid}/assignments/{desk['erik'].id}/end", data={"csrf_token": token})
    assert ended.status_code == 302
    assert events(pages, iid).count("EvaluatorUnassigned") == 1
    assert "1 of 1 assessed" in client.get("/portfolio").get_data(as_text=True)


def test_the_gate_checklist_comes_from_the_domain_and_the_manager_advances(pages: Pages, desk: dict[str, Any]) -> None:
    client, iid = desk["client"], desk["id"]
    before = client.get(f"/manage/{iid}").get_data(as_text=True)
    assert "not met</strong>: At least one assessment recorded in identification (has 0)." in before
    token = csrf_of(client.get(f"/manage/{iid}"))
    version = str(pages.services.app.get_innovation(iid).version)
    refused = client.post(
        f"/manage/{iid}/decision",
        data={"csrf_token": token, "decision": "advance", "rationale": "ready", "version": version},
    )
    assert refused.status_code == 409
    assert "The gate is not met" in refused.get_data(as_text=True)
    assign(client, iid, desk["eva"].id)
    pages.services.app.record_assessment(iid, actor=desk["eva"].actor(), scores=FULL_SCORES, rationale="fine")
    page = client.get(f"/manage/{iid}")
    assert "met</strong>: At least one assessment recorded in identification (has 1)." in page.get_data(as_text=True)
    version = str(pages.services.app.get_innovation(iid).version)
    advanced = client.post(
        f"/manage/{iid}/decision",
        data={"csrf_token": csrf_of(page), "decision": "advance", "rationale": "ready", "version": version},
    )
    assert advanced.status_code == 302
    assert pages.services.app.get_innovation(iid).stage == "testing"
    assert "Decision recorded" in client.get(f"/manage/{iid}").get_data(as_text=True)


def test_the_language_switcher_on_a_page_answered_to_a_form_goes_back_to_the_forms_page(
    pages: Pages, desk: dict[str, Any]
) -> None:
    """A form sent back with its errors is answered at the address it was posted to, which takes only forms: the
    switcher there brings the reader back to the page the form was on, never to a 405."""
    client, iid = desk["client"], desk["id"]
    round_page = f"/manage/{iid}"
    page = client.get(round_page)
    refused = client.post(
        f"{round_page}/decision",
        data={"csrf_token": csrf_of(page), "decision": "", "rationale": "", "version": ""},
        headers={"Referer": f"http://localhost{round_page}"},
    )
    assert refused.status_code == 422
    back = re.search(r'name="next" type="hidden" value="([^"]*)"|name="next" value="([^"]*)"', refused.get_data(True))
    assert back is not None
    assert (back.group(1) or back.group(2)) == round_page
    switched = client.post(
        "/language", data={"csrf_token": csrf_of(refused), "language": "lt", "next": back.group(1) or back.group(2)}
    )
    assert (switched.status_code, switched.headers["Location"]) == (302, round_page)
    assert client.get(round_page).status_code == 200
    # An address that takes only forms, sent as where to go back to, goes to the start page instead.
    token = csrf_of(client.get(round_page))
    switched = client.post("/language", data={"csrf_token": token, "language": "en", "next": f"{round_page}/decision"})
    assert (switched.status_code, switched.headers["Location"]) == (302, "/")


def test_the_round_page_offers_only_the_decisions_the_innovation_takes_now(pages: Pages, desk: dict[str, Any]) -> None:
    client, iid = desk["client"], desk["id"]

    def offered() -> list[str]:
        page = client.get(f"/manage/{iid}").get_data(as_text=True)
        return re.findall(r'name="decision" required type="radio" value="([a-z]+)"', page)

    assert offered() == ["advance", "hold", "discontinue"]  # in identification: nothing earlier to send back to
    assert 'id="to_stage"' not in client.get(f"/manage/{iid}").get_data(as_text=True)
    app, manager = pages.services.app, pages.world.manager
    pages.world.to_stage(iid, "testing")
    assert offered() == ["advance", "hold", "recycle", "discontinue"]
    app.decide_gate(iid, actor=manager, decision="hold", rationale="waiting")
    assert offered() == ["resume", "discontinue"]
    # A decision sent without one: the summary's link reaches the first option shown.
    version = str(app.get_innovation(iid).version)
    empty = client.post(
        f"/manage/{iid}/decision",
        data={"csrf_token": csrf_of(client.get(f"/manage/{iid}")), "rationale": "r", "version": version},
    )
    assert empty.status_code == 422
    html = empty.get_data(as_text=True)
    assert '<a href="#decision-0">' in html
    assert 'id="decision-0" name="decision" required type="radio" value="resume"' in html
    app.decide_gate(iid, actor=manager, decision="discontinue", rationale="stopped")
    page = client.get(f"/manage/{iid}").get_data(as_text=True)
    assert offered() == []
    assert "Record the decision" not in page


def test_a_stale_decision_says_what_changed_and_keeps_the_reasons(pages: Pages, desk: dict[str, Any]) -> None:
    client, iid = desk["client"], desk["id"]
    page = client.get(f"/manage/{iid}")
    version = str(pages.services.app.get_innovation(iid).version)
    pages.services.app.revise_innovation(iid, {"title": "Dual learning mentors 2"}, actor=pages.world.provider)
    stale = client.post(
        f"/manage/{iid}/decision",
        data={"csrf_token": csrf_of(page), "decision": "hold", "rationale": "My careful reasons", "version": version},
    )
    assert stale.status_code == 409
    html = stale.get_data(as_text=True)
    assert "changed since you opened this page" in html
    assert "details revised" in html
    assert "My careful reasons" in html
    assert pages.services.app.get_innovation(iid).status == "active"


def test_without_the_csrf_token_nothing_changes(pages: Pages, desk: dict[str, Any]) -> None:
    client, iid = desk["client"], desk["id"]
    sent = client.post(f"/manage/{iid}/assignments", data={"evaluator": str(desk["eva"].id)})
    assert sent.status_code == 400
    decided = client.post(f"/manage/{iid}/decision", data={"decision": "hold", "rationale": "x"})
    assert decided.status_code == 400
    assert events(pages, iid) == ["Submitted"]


def test_evaluators_and_providers_may_not_use_the_manager_pages(pages: Pages, desk: dict[str, Any]) -> None:
    pages.services.signin.set_password(desk["eva"].id, "correct horse battery staple", actor_id="test")
    client = pages.client()
    pages.sign_in(client, "eva@example.org")
    assert client.get("/portfolio").status_code == 403
    assert client.get(f"/manage/{desk['id']}").status_code == 403
    token = csrf_of(client.get("/queue"))
    assert client.post(f"/manage/{desk['id']}/decision", data={"csrf_token": token}).status_code == 403
