"""The provider's pages over Flask's test client: submitting and revising (a stale form says what changed), pilots,
outcomes, evidence and adoptions, who may change what, and a closed round's assessments without evaluator names."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from flask.testing import FlaskClient

from tests.pages.conftest import Pages, csrf_of
from tests.world import FULL_SCORES


@pytest.fixture
def owner(pages: Pages) -> FlaskClient:
    pages.person("provider", "paulius@example.org", organisation=pages.world.owner, name="Paulius Petrauskas")
    client = pages.client()
    assert pages.sign_in(client, "paulius@example.org").status_code == 302
    return client


def post(client: FlaskClient, path: str, **data: Any) -> Any:
    page = client.get(path)
    assert page.status_code == 200, path
    fields = {"csrf_token": csrf_of(page)} | {k: str(v) for k, v in data.items()}
    html = page.get_data(as_text=True)
    marker = 'name="version" type="hidden" value="'
    if "version" not in data and marker in html:
        fields["version"] = html.split(marker)[1].split('"')[0]
    return client.post(path, data=fields)


def submitted(pages: Pages, client: FlaskClient, **overrides: Any) -> UUID:
    data = {"title": "Green welding badges", "summary": "Open badges for welding", "themes": "green skills, badges"}
    answer = post(client, "/innovations/new", **(data | overrides))
    assert answer.status_code == 302, answer.get_data(as_text=True)[:2000]
    return UUID(answer.headers["Location"].rsplit("/", 1)[-1])


def test_a_provider_submits_and_finds_it_among_their_innovations(pages: Pages, owner: FlaskClient) -> None:
    refused = post(owner, "/innovations/new", title="No themes", summary="x", themes=" , ")
    assert refused.status_code == 422
    # The summary of what needs attention links to each field in error, and the field is there to be reached.
    empty = post(owner, "/innovations/new", title="", summary="", themes="t", readiness_level="12")
    html = empty.get_data(as_text=True)
    for name in ("title", "summary", "readiness_level"):
        assert f'<a href="#{name}">' in html, name
        assert f'id="{name}"' in html, name
    assert "Name at least one theme." in refused.get_data(as_text=True)
    assert "must name at least one theme" not in refused.get_data(as_text=True)  # the domain's words, in English
    iid = submitted(pages, owner, readiness_level="3")
    inn = pages.services.app.get_innovation(iid)
    assert inn.themes == ["green skills", "badges"]
    assert inn.organisation_id == pages.world.owner
    assert inn.readiness_level == 3
    assert "Green welding badges" in owner.get("/innovations/mine").get_data(as_text=True)
    assert "Green welding badges" in owner.get(f"/innovations/{iid}").get_data(as_text=True)


def test_a_provider_places_a_submission_in_an_ecosystem_of_its_organisation(pages: Pages, owner: FlaskClient) -> None:
    """The form offers the ecosystems the provider's organisation is a member of; the innovation's page names the one
    chosen. A provider of an organisation in none is offered none, and an ecosystem not offered is refused."""
    form = owner.get("/innovations/new").get_data(as_text=True)
    assert "VISION: Vocational Innovation Ecosystems" in form
    placed = submitted(pages, owner, ecosystem_id=str(pages.world.ecosystem))
    assert pages.services.app.get_innovation(placed).ecosystem_id == pages.world.ecosystem
    assert "VISION: Vocational Innovation Ecosystems" in owner.get(f"/innovations/{placed}").get_data(as_text=True)
    unplaced = submitted(pages, owner, ecosystem_id="")
    assert pages.services.app.get_innovation(unplaced).ecosystem_id is None

    pages.person("provider", "sofie@example.org", organisation=pages.world.site, name="Sofie de Vries")
    site = pages.client()
    assert pages.sign_in(site, "sofie@example.org").status_code == 302
    assert 'name="ecosystem_id"' not in site.get("/innovations/new").get_data(as_text=True)
    before = pages.services.app.current_position()
    vision = str(pages.world.ecosystem)
    foreign = post(site, "/innovations/new", title="T", summary="S", themes="x", ecosystem_id=vision)
    assert foreign.status_code == 422
    assert "The innovation&#39;s organisation is not a member of this ecosystem." in foreign.get_data(as_text=True)
    garbled = post(site, "/innovations/new", title="T", summary="S", themes="x", ecosystem_id="VISION")
    assert garbled.status_code == 422
    assert "Choose one of the ecosystems listed." in garbled.get_data(as_text=True)
    assert pages.services.app.current_position() == before
    assert pages.services.app.get_innovation(submitted(pages, site)).ecosystem_id is None


def test_a_stale_revision_says_what_changed_and_keeps_what_was_typed(pages: Pages, owner: FlaskClient) -> None:
    iid = submitted(pages, owner)
    form = owner.get(f"/innovations/{iid}/edit")
    pages.services.app.add_evidence(iid, actor=pages.world.provider, kind="report", title="Interim report")
    data = {
        "csrf_token": csrf_of(form),
        "title": "Green welding badges, revised",
        "summary": "Open badges for welding",
        "themes": "green skills",
        "version": "1",
    }
    stale = owner.post(f"/innovations/{iid}/edit", data=data)
    assert stale.status_code == 409
    html = stale.get_data(as_text=True)
    assert "changed since you opened this form" in html
    assert "evidence added" in html
    assert "Green welding badges, revised" in html
    assert pages.services.app.get_innovation(iid).title == "Green welding badges"
    again = owner.post(f"/innovations/{iid}/edit", data=data | {"csrf_token": csrf_of(stale), "version": "2"})
    assert again.status_code == 302
    assert pages.services.app.get_innovation(iid).title == "Green welding badges, revised"


def test_pilots_outcomes_and_evidence_through_the_forms(pages: Pages, owner: FlaskClient) -> None:
    iid = submitted(pages, owner)
    unchosen = post(owner, f"/innovations/{iid}/pilots/new", site="", started_on="2025-01-10")
    assert unchosen.status_code == 422
    assert "Choose the site." in unchosen.get_data(as_text=True)
    started = post(owner, f"/innovations/{iid}/pilots/new", site=pages.world.site, started_on="2025-01-10")
    assert started.status_code == 302
    inn = pages.services.app.get_innovation(iid)
    pilot_id = next(iter(inn.pilots.values()))["pilot_id"]
    early = post(
        owner,
        f"/innovations/{iid}/pilots/{pilot_id}/outcome",
        ended_on="2024-12-01",
        participants="12",
        completion_rate="75",
    )
    assert early.status_code == 422
    assert "The end date must not be before the start date." in early.get_data(as_text=True)
    done = post(
        owner,
        f"/innovations/{iid}/pilots/{pilot_id}/outcome",
        ended_on="2025-03-01",
        participants="12",
        completion_rate="75",
        satisfaction="4.5",
        notes="Learners asked for a second round",
    )
    assert done.status_code == 302
    outcome = next(iter(pages.services.app.get_innovation(iid).pilots.values()))["outcome"]
    assert outcome["completion_rate"] == 0.75
    assert outcome["satisfaction"] == 4.5
    added = post(
        owner,
        f"/innovations/{iid}/evidence/new",
        kind="dataset",
        title="Completion data",
        url="https://example.org/data.csv",
    )
    assert added.status_code == 302
    page = owner.get(f"/innovations/{iid}").get_data(as_text=True)
    assert "Completion data" in page
    assert "75%" in page
    assert "Satisfaction: 4.5 of 5." in page  # what was recorded is shown: satisfaction and the outcome's notes
    assert "Learners asked for a second round" in page


def test_another_provider_neither_sees_a_confidential_idea_nor_changes_a_public_one(
    pages: Pages, owner: FlaskClient
) -> None:
    iid = submitted(pages, owner)
    pages.person("provider", "petra@example.org", organisation=pages.world.site, name="Petra Novak")
    other = pages.client()
    pages.sign_in(other, "petra@example.org")
    assert other.get(f"/innovations/{iid}").status_code == 404
    pages.world.to_stage(iid, "testing")
    assert other.get(f"/innovations/{iid}").status_code == 200
    assert other.get(f"/innovations/{iid}/edit").status_code == 403
    adopted = post(other, f"/innovations/{iid}/adoptions/new", adopted_on="2025-06-01", notes="In two workshops")
    assert adopted.status_code == 302
    assert "In two workshops" in owner.get(f"/innovations/{iid}").get_data(as_text=True)
    assert pages.services.app.get_innovation(iid).adoptions[0]["organisation_id"] == pages.world.site
    # The owner is not offered the adoption form; opened anyway, it says why and goes back to the innovation.
    assert "adoptions/new" not in owner.get(f"/innovations/{iid}").get_data(as_text=True)
    opened = owner.get(f"/innovations/{iid}/adoptions/new", follow_redirects=True)
    assert opened.request.path == f"/innovations/{iid}"
    assert "An organisation does not adopt its own innovation." in opened.get_data(as_text=True)
    token = csrf_of(owner.get(f"/innovations/{iid}"))
    own = owner.post(f"/innovations/{iid}/adoptions/new", data={"csrf_token": token, "adopted_on": "2025-06-01"})
    assert own.status_code == 409
    assert "An organisation does not adopt its own innovation." in own.get_data(as_text=True)
    token = csrf_of(other.get(f"/innovations/{iid}"))
    again = other.post(f"/innovations/{iid}/adoptions/new", data={"csrf_token": token, "adopted_on": "2025-07-01"})
    assert again.status_code == 409
    assert "This organisation has already recorded adopting this innovation." in again.get_data(as_text=True)


def test_the_owner_is_offered_only_what_the_innovation_takes_in_its_status(pages: Pages, owner: FlaskClient) -> None:
    """On hold, an innovation takes only resume and discontinue: its page offers its owner no form; discontinued,
    it takes nothing, and another organisation is not offered to record an adoption."""
    iid = submitted(pages, owner)
    pages.world.to_stage(iid, "testing")
    forms = ("/edit", "/pilots/new", "/evidence/new")
    page = owner.get(f"/innovations/{iid}").get_data(as_text=True)
    assert all(f"/innovations/{iid}{form}" in page for form in forms)
    pages.person("provider", "petra@example.org", organisation=pages.world.site, name="Petra Novak")
    other = pages.client()
    pages.sign_in(other, "petra@example.org")
    assert "adoptions/new" in other.get(f"/innovations/{iid}").get_data(as_text=True)
    app, manager = pages.services.app, pages.world.manager
    app.decide_gate(iid, actor=manager, decision="hold", rationale="waiting for funds")
    page = owner.get(f"/innovations/{iid}").get_data(as_text=True)
    assert not any(f"/innovations/{iid}{form}" in page for form in forms)
    app.decide_gate(iid, actor=manager, decision="discontinue", rationale="no funds")
    assert "adoptions/new" not in other.get(f"/innovations/{iid}").get_data(as_text=True)
    opened = other.get(f"/innovations/{iid}/adoptions/new", follow_redirects=True)
    assert opened.request.path == f"/innovations/{iid}"
    assert "This innovation is discontinued and takes no more changes." in opened.get_data(as_text=True)


def test_the_domains_refusals_read_in_the_pages_language(pages: Pages, owner: FlaskClient) -> None:
    """A refusal the forms cannot catch before the domain does is said in the reader's language, not in the
    domain's English after a translated "Refused:"."""
    token = csrf_of(owner.get("/innovations/mine"))
    owner.post("/language", data={"csrf_token": token, "language": "lt", "next": "/"})
    iid = submitted(pages, owner)
    started = post(owner, f"/innovations/{iid}/pilots/new", site=pages.world.site, started_on="2025-01-10")
    assert started.status_code == 302
    pilot_id = next(iter(pages.services.app.get_innovation(iid).pilots.values()))["pilot_id"]
    outcome = f"/innovations/{iid}/pilots/{pilot_id}/outcome"
    early = post(owner, outcome, ended_on="2024-12-01", participants="12", completion_rate="75")
    assert "Pabaigos data negali būti ankstesnė už pradžios datą." in early.get_data(as_text=True)
    no_scheme = post(owner, f"/innovations/{iid}/evidence/new", kind="dataset", title="Data", url="example.org/x")
    assert no_scheme.status_code == 422
    assert "Nurodykite žiniatinklio adresą" in no_scheme.get_data(as_text=True)
    # A number the form cannot read is said once, in Lithuanian; a decimal comma is how Lithuanian writes a number.
    bad = post(
        owner, f"/innovations/{iid}/edit", title="Green welding badges", summary="s", themes="t", readiness_level="abc"
    )
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert text.count("Nurodykite sveikąjį skaičių, pavyzdžiui, 12.") == 1
    assert "Not a valid" not in text
    assert "Nuo 1 iki 9." not in text
    for odd in ("sNaN", "NaN", "Infinity"):  # not numbers to record: said once, never a server error
        refused = post(owner, outcome, ended_on="2025-03-01", participants="12", completion_rate=odd)
        assert refused.status_code == 422, odd
        assert refused.get_data(as_text=True).count("Nurodykite skaičių, pavyzdžiui, 85,5.") == 1, odd
    done = post(owner, outcome, ended_on="2025-03-01", participants="12", completion_rate="85,5", satisfaction="4,2")
    assert done.status_code == 302, done.get_data(as_text=True)[-3000:]
    recorded = next(iter(pages.services.app.get_innovation(iid).pilots.values()))["outcome"]
    assert (recorded["completion_rate"], recorded["satisfaction"]) == (0.855, 4.2)
    pages.services.app.decide_gate(iid, actor=pages.world.manager, decision="hold", rationale="waiting")
    held = post(owner, f"/innovations/{iid}/evidence/new", kind="dataset", title="Data", url="https://example.org/x")
    assert held.status_code == 409
    text = held.get_data(as_text=True)
    assert "Ši inovacija sustabdyta" in text
    assert "accepts only" not in text


def test_the_owner_reads_a_closed_rounds_assessments_without_evaluator_names(pages: Pages, owner: FlaskClient) -> None:
    iid = submitted(pages, owner)
    eva = pages.person("evaluator", "eva@example.org", organisation=pages.world.eval_org_a, name="Eva Dubois")
    pages.services.app.assign_evaluator(
        iid, actor=pages.world.manager, evaluator_id=str(eva.id), evaluator_organisation_id=eva.organisation_id
    )
    pages.services.app.record_assessment(iid, actor=eva.actor(), scores=FULL_SCORES, rationale="Eva's reasons")
    before = owner.get(f"/innovations/{iid}").get_data(as_text=True)
    assert "Eva's reasons" not in before.replace("&#39;", "'")
    pages.services.app.decide_gate(iid, actor=pages.world.manager, decision="advance", rationale="ready")
    after = owner.get(f"/innovations/{iid}").get_data(as_text=True).replace("&#39;", "'")
    assert "Eva's reasons" in after
    assert "evaluator 1" in after
    assert "Eva Dubois" not in after


def test_without_the_csrf_token_nothing_is_submitted(pages: Pages, owner: FlaskClient) -> None:
    before = pages.services.app.current_position()
    sent = owner.post("/innovations/new", data={"title": "x", "summary": "y", "themes": "z"})
    assert sent.status_code == 400
    assert pages.services.app.current_position() == before
