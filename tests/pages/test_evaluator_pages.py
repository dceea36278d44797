"""The evaluator's queue and assessment page, over Flask's test client: blind review, the live preview, a stale
form, refusals, and the CSRF token."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID

import pytest
from flask.testing import FlaskClient

from tests.pages.conftest import Pages, csrf_of
from tests.world import FULL_SCORES, days_ago
from tracker.actors import Actor
from tracker.rubric import assessment_mpi

B_RATIONALE = "Evaluator B found the outcomes thin"


def evaluator(pages: Pages, email: str, organisation: UUID) -> tuple[Actor, FlaskClient]:
    person = pages.person("evaluator", email, organisation=organisation, name=email.split("@")[0].title())
    client = pages.client()
    assert pages.sign_in(client, email).status_code == 302
    return person.actor(), client


def assign(pages: Pages, innovation_id: UUID, who: Actor, **fields: Any) -> None:
    pages.services.app.assign_evaluator(
        innovation_id,
        actor=pages.world.manager,
        evaluator_id=who.id,
        evaluator_organisation_id=who.organisation_id,
        **fields,
    )
    pages.services.read_model.catch_up()


def form_data(
    page: Any, scores: dict[str, int | None] = FULL_SCORES, rationale: str = "Well evidenced"
) -> dict[str, str]:
    data = {"csrf_token": csrf_of(page), "rationale": rationale, "version": _version(page)}
    for key, score in scores.items():
        data[f"score_{key}"] = "na" if score is None else str(score)
        data[f"comment_{key}"] = f"on {key}"
    return data


def _version(page: Any) -> str:
    html = page.get_data(as_text=True)
    marker = 'name="version" type="hidden" value="'
    if marker not in html:
        return ""  # no form on the page: sent as a script would
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


@pytest.fixture
def round_(pages: Pages) -> dict[str, Any]:
    """An innovation in testing with evaluators A and B assigned; B has assessed."""
    a, client_a = evaluator(pages, "eva@example.org", pages.world.eval_org_a)
    b, client_b = evaluator(pages, "erik@example.org", pages.world.eval_org_b)
    with days_ago(pages.services.app, 3):  # A was assigned three days ago, due yesterday
        iid = pages.world.submit(title="Green welding badges")
        pages.world.to_stage(iid, "testing")
        assign(pages, iid, a, due_on=(date.today() - timedelta(days=1)).isoformat())
    assign(pages, iid, b)
    scores_b = dict(FULL_SCORES, openness=0)
    pages.services.app.record_assessment(iid, actor=b, scores=scores_b, rationale=B_RATIONALE)
    pages.services.read_model.catch_up()
    count = len(pages.services.app.get_innovation(iid).assessments)
    return {"id": iid, "a": a, "client_a": client_a, "b": b, "client_b": client_b, "count": count}


def test_the_queue_lists_pending_work_overdue_first_and_next_opens_it(pages: Pages, round_: dict[str, Any]) -> None:
    client = round_["client_a"]
    queue = client.get("/queue").get_data(as_text=True)
    assert "Green welding badges" in queue
    assert "overdue" in queue
    following = client.get("/queue/next")
    assert following.status_code == 302
    assert following.headers["Location"] == f"/assess/{round_['id']}"
    assert "Green welding badges" not in client.get("/queue?state=done").get_data(as_text=True)


def test_before_assessing_nothing_shows_the_other_evaluators_scores(pages: Pages, round_: dict[str, Any]) -> None:
    page = round_["client_a"].get(f"/assess/{round_['id']}").get_data(as_text=True)
    assert "Green welding badges" in page
    assert B_RATIONALE not in page
    assert "Erik" not in page
    assert "Consolidated MPI" not in page
    assert "appear once your own assessment of this round is in" in page


def test_after_assessing_the_evaluator_sees_the_panel_and_the_stored_mpi(pages: Pages, round_: dict[str, Any]) -> None:
    client = round_["client_a"]
    page = client.get(f"/assess/{round_['id']}")
    scores = dict(FULL_SCORES, partnership=None)
    preview = client.get("/rubric/preview", query_string={k: "na" if v is None else v for k, v in scores.items()})
    sent = client.post(f"/assess/{round_['id']}", data=form_data(page, scores))
    assert sent.status_code == 302
    stored = pages.services.app.get_innovation(round_["id"]).latest_assessments("testing")
    mine = next(a for a in stored if a["evaluator_id"] == round_["a"].id)
    assert mine["mpi"] == preview.json["mpi"] == assessment_mpi(scores)
    assert mine["comments"]["relevance"] == "on relevance"
    after = client.get(f"/assess/{round_['id']}").get_data(as_text=True)
    assert "Your assessment is recorded" in after
    assert B_RATIONALE in after
    assert "Erik" in after
    assert "Consolidated MPI" in after
    assert "Green welding badges" in client.get("/queue?state=done").get_data(as_text=True)


def test_the_preview_follows_the_rubric_rules(pages: Pages, round_: dict[str, Any]) -> None:
    client = round_["client_a"]
    mostly_unassessable = {
        "relevance": 4,
        "effectiveness": "na",
        "transferability": "na",
        "sustainability": "na",
        "partnership": 4,
        "openness": 4,
    }
    refused = client.get("/rubric/preview", query_string=mostly_unassessable).json
    assert refused["mpi"] is None
    assert "at least 60%" in refused["message"]
    partial = client.get("/rubric/preview", query_string={"relevance": 4}).json
    assert partial["mpi"] is None
    # Not a level: refused by the rubric, never a server error ("²" passes str.isdigit, and int() refuses it).
    for odd in ("²", "٣", "x", "-1", "9" * 400):
        answer = client.get("/rubric/preview", query_string=dict.fromkeys(mostly_unassessable, 4) | {"openness": odd})
        assert answer.status_code == 200, odd
        assert answer.json["mpi"] is None, odd
    sent = client.post(
        f"/assess/{round_['id']}",
        data=form_data(
            client.get(f"/assess/{round_['id']}"),
            {k: (v if v != "na" else None) for k, v in mostly_unassessable.items()},
        ),
    )
    assert sent.status_code == 422
    assert "at least 60%" in sent.get_data(as_text=True)
    assert len(pages.services.app.get_innovation(round_["id"]).assessments) == round_["count"]
    # In Lithuanian, the share is written as Lithuanian writes it ("60 %", with a no-break space).
    pages.person("evaluator", "egle@example.org", organisation=pages.world.eval_org_a, locale="lt")
    lithuanian = pages.client()
    assert pages.sign_in(lithuanian, "egle@example.org").status_code == 302
    said = lithuanian.get("/rubric/preview", query_string=mostly_unassessable).json["message"]
    assert "60\u00a0%" in said, said


def test_a_stage_visited_again_is_a_new_round_and_the_page_is_blind_again(pages: Pages, round_: dict[str, Any]) -> None:
    """Evaluator A assessed testing in its first visit; recycled back to testing, B assesses again and A is assigned
    again: A's page shows neither B's new assessment nor the consolidated MPI until A's own of this round is in."""
    app, iid, client = pages.services.app, round_["id"], round_["client_a"]
    app.record_assessment(iid, actor=round_["a"], scores=FULL_SCORES, rationale="First visit of A")
    pages.world.to_stage(iid, "development")
    app.decide_gate(iid, actor=pages.world.manager, decision="recycle", to_stage="testing", rationale="Pilot again")
    second = "Evaluator B, second visit: the new pilot is weaker"
    assign(pages, iid, round_["b"])
    app.record_assessment(iid, actor=round_["b"], scores=dict(FULL_SCORES, relevance=1), rationale=second)
    assign(pages, iid, round_["a"])
    blind = client.get(f"/assess/{iid}").get_data(as_text=True)
    assert second not in blind
    assert "Consolidated MPI" not in blind
    assert "appear once your own assessment of this round is in" in blind
    assert "First visit of A" not in blind  # the form starts empty: this round has no assessment of A's yet
    sent = client.post(f"/assess/{iid}", data=form_data(client.get(f"/assess/{iid}")))
    assert sent.status_code == 302
    after = client.get(f"/assess/{iid}").get_data(as_text=True)
    assert second in after
    assert B_RATIONALE not in after  # B's assessment of the first visit belongs to that round
    assert "Consolidated MPI" in after


def test_a_stale_form_says_what_changed_keeps_what_was_typed_and_records_nothing(
    pages: Pages, round_: dict[str, Any]
) -> None:
    client = round_["client_a"]
    opened = client.get(f"/assess/{round_['id']}")
    pages.services.app.revise_innovation(round_["id"], {"title": "Green welding badges 2"}, actor=pages.world.provider)
    stale = client.post(f"/assess/{round_['id']}", data=form_data(opened, rationale="My typed rationale"))
    assert stale.status_code == 409
    html = stale.get_data(as_text=True)
    assert "changed while you were assessing it" in html
    assert "details revised" in html
    assert "My typed rationale" in html
    assert 'checked id="score_effectiveness-3"' in html
    assert len(pages.services.app.get_innovation(round_["id"]).assessments) == round_["count"]
    again = client.post(f"/assess/{round_['id']}", data=form_data(stale, rationale="My typed rationale"))
    assert again.status_code == 302
    assert len(pages.services.app.get_innovation(round_["id"]).assessments) == round_["count"] + 1


def test_without_the_csrf_token_nothing_is_recorded(pages: Pages, round_: dict[str, Any]) -> None:
    client = round_["client_a"]
    data = form_data(client.get(f"/assess/{round_['id']}"))
    del data["csrf_token"]
    assert client.post(f"/assess/{round_['id']}", data=data).status_code == 400
    assert len(pages.services.app.get_innovation(round_["id"]).assessments) == round_["count"]


def test_an_unassigned_evaluator_is_told_and_nothing_is_recorded(pages: Pages, round_: dict[str, Any]) -> None:
    _, client = evaluator(pages, "elena@example.org", pages.world.eval_org_c)
    page = client.get(f"/assess/{round_['id']}")
    assert "You are not assigned to this innovation" in page.get_data(as_text=True)
    sent = client.post(f"/assess/{round_['id']}", data=form_data(page))
    assert sent.status_code == 409
    assert len(pages.services.app.get_innovation(round_["id"]).assessments) == round_["count"]


def test_an_innovation_the_evaluator_may_not_see_is_not_found(pages: Pages) -> None:
    confidential = pages.world.submit(title="Unpublished idea")
    _, client = evaluator(pages, "elena@example.org", pages.world.eval_org_c)
    answer = client.get(f"/assess/{confidential}")
    assert answer.status_code == 404
    assert "Unpublished idea" not in answer.get_data(as_text=True)
    assert answer.mimetype == "text/html"


def test_other_roles_may_not_use_the_evaluator_pages(pages: Pages) -> None:
    pages.person("analyst", "aino@example.org")
    client = pages.client()
    pages.sign_in(client, "aino@example.org")
    assert client.get("/queue").status_code == 403
    assert client.get("/rubric/preview").status_code == 403
