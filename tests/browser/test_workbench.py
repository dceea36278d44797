"""The workbench in real headless Chromium: an invited person sets a password and signs in (with the keyboard alone),
in English and in Lithuanian; an evaluator assesses with the keyboard alone; every page passes an axe-core scan and
reflows at 360 px."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from babel.dates import format_date
from playwright.sync_api import expect
from werkzeug.serving import make_server

from access.signin import INVITATION_DAYS
from bench.receiver import webhook_receiver
from bootstrap import create_app, upgrade_database
from importers.common import Summary
from projections.clock import utc_now
from runtime.import_jobs import ImportJobs, new_runner
from runtime.settings import Settings
from tests.browser.chromium import checked, chromium, require_chromium, sign_in, watch_errors
from tests.readmodel import running_import_job
from tests.world import FULL_SCORES, World, build_world
from tracker.rubric import assessment_mpi

pytestmark = pytest.mark.browser
PASSWORD = "a long enough pass phrase"
COVE = Path(__file__).resolve().parents[3] / "shared" / "data" / "cove-projects.json"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    require_chromium()
    url = f"sqlite:///{tmp_path_factory.mktemp('signin')}/tracker.db"
    # The admin's webhook test sends to a receiver on this machine's loopback interface.
    settings = Settings(database_url=url, webhooks_allow_private=True)
    upgrade_database(settings)
    app = create_app(settings)
    services = app.extensions["tracker"]
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield {"base": f"http://127.0.0.1:{http.server_port}", "services": services}
    http.shutdown()
    services.close()


@pytest.fixture(scope="module")
def world(server: dict[str, Any]) -> World:
    return build_world(server["services"].app)


@pytest.fixture(scope="module")
def browser(server: dict[str, Any]) -> Iterator[Any]:
    with chromium() as found:
        yield found


def invite(server: dict[str, Any], email: str, role: str = "analyst", locale: str = "en") -> str:
    services = server["services"]
    person = services.people.create(actor_id="admin", name="Rūta Žemaitė", email=email, role=role, locale=locale)
    return f"{server['base']}/invitations/{services.signin.invite(person.id, actor_id='admin').token}"


def tab_to(tab: Any, selector: str, limit: int = 25) -> None:
    """Press Tab until the element is focused, as a keyboard user does."""
    for _ in range(limit):
        if tab.evaluate(f"document.activeElement === document.querySelector({selector!r})"):
            return
        tab.keyboard.press("Tab")
    raise AssertionError(f"{selector} is not reachable with Tab")


def test_an_invited_person_sets_a_password_and_signs_in_with_the_keyboard(server: dict[str, Any], browser: Any) -> None:
    link = invite(server, "aino@example.org")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    tab = context.new_page()
    errors = watch_errors(tab)

    tab.goto(link)
    expect(tab.get_by_role("heading", name="Set your password")).to_be_visible()
    checked(tab, "invitation")
    tab.get_by_label("New password").fill("too short")
    tab.get_by_label("The same password again").fill("too short")
    tab.get_by_role("button", name="Set password").click()
    expect(tab.get_by_text("Use at least 12 characters.")).to_be_visible()
    # The error is tied to its field, so a screen reader reads it with the field.
    field = tab.get_by_label("New password")
    assert field.get_attribute("aria-invalid") == "true"
    assert "password-error" in field.get_attribute("aria-describedby")
    checked(tab, "invitation-refused")
    tab.get_by_label("New password").fill(PASSWORD)
    tab.get_by_label("The same password again").fill(PASSWORD)
    tab.get_by_role("button", name="Set password").click()
    expect(tab.get_by_role("heading", name="Welcome, Rūta Žemaitė")).to_be_visible()
    checked(tab, "start")

    tab.get_by_role("link", name="Your account").first.click()
    expect(tab.get_by_role("heading", name="Your account")).to_be_visible()
    checked(tab, "account")
    tab.get_by_role("button", name="Sign out").click()
    expect(tab.get_by_text("You are signed out.")).to_be_visible()
    checked(tab, "login")

    # Signing in again with the keyboard alone: Tab to each field, type, Enter.
    tab_to(tab, "#email")
    tab.keyboard.type("aino@example.org")
    tab.keyboard.press("Tab")
    tab.keyboard.type("not the password")
    tab.keyboard.press("Enter")
    expect(tab.get_by_text("The e-mail address or the password is wrong.")).to_be_visible()
    checked(tab, "login-refused")
    tab_to(tab, "#password")
    tab.keyboard.type(PASSWORD)
    tab.keyboard.press("Enter")
    expect(tab.get_by_role("heading", name="Welcome, Rūta Žemaitė")).to_be_visible()
    # The focused control is visibly outlined.
    tab_to(tab, "a.brand")
    outline = tab.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", ""), "no visible focus"
    assert errors == []
    context.close()


def test_the_pages_in_lithuanian(server: dict[str, Any], browser: Any) -> None:
    link = invite(server, "ruta@example.org", locale="lt")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="lt-LT")
    tab = context.new_page()
    tab.goto(f"{server['base']}/login")
    assert tab.locator("html").get_attribute("lang") == "lt"
    expect(tab.get_by_role("heading", name="Prisijungti")).to_be_visible()
    checked(tab, "login-lt")
    tab.goto(link)
    expect(tab.get_by_role("heading", name="Nustatykite slaptažodį")).to_be_visible()
    tab.get_by_label("Naujas slaptažodis").fill(PASSWORD)
    tab.get_by_label("Pakartokite slaptažodį").fill(PASSWORD)
    tab.get_by_role("button", name="Nustatyti slaptažodį").click()
    expect(tab.get_by_role("heading", name="Sveiki, Rūta Žemaitė")).to_be_visible()
    checked(tab, "start-lt")
    # The switcher changes the person's language, and it stays theirs.
    tab.get_by_label("Kalba").select_option("it")
    tab.get_by_role("button", name="Keisti kalbą").click()
    expect(tab.get_by_role("heading", name="Benvenuto/a, Rūta Žemaitė")).to_be_visible()
    assert tab.locator("html").get_attribute("lang") == "it"
    checked(tab, "start-it")
    context.close()


def test_an_evaluator_assesses_with_the_keyboard_alone_blind_until_their_own_is_in(
    server: dict[str, Any], browser: Any, world: World
) -> None:
    """The evaluator's queue and assessment page: no sign of the other evaluator's scores before their own is in;
    the live preview matches the stored MPI; the whole assessment done with the keyboard; then the panel appears."""
    services = server["services"]
    iid = world.submit(title="Welding simulator badges")
    world.to_stage(iid, "testing")
    a = services.people.create(
        actor_id="admin", name="Eva Dubois", email="eva@example.org", role="evaluator", organisation_id=world.eval_org_a
    )
    b = services.people.create(
        actor_id="admin",
        name="Erik Schmidt",
        email="erik@example.org",
        role="evaluator",
        organisation_id=world.eval_org_b,
    )
    services.signin.set_password(a.id, PASSWORD, actor_id="admin")
    for person in (a, b):
        services.app.assign_evaluator(
            iid, actor=world.manager, evaluator_id=str(person.id), evaluator_organisation_id=person.organisation_id
        )
    services.app.record_assessment(iid, actor=b.actor(), scores=FULL_SCORES, rationale="Erik's reasons, unseen")
    services.read_model.catch_up()

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    tab = context.new_page()
    errors = watch_errors(tab)
    tab.goto(f"{server['base']}/login")
    tab.get_by_label("E-mail address").fill("eva@example.org")
    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_role("button", name="Sign in").click()
    tab.get_by_role("link", name="My queue").first.click()
    expect(tab.get_by_role("link", name="Welding simulator badges")).to_be_visible()
    checked(tab, "queue")
    tab.get_by_role("link", name="Next pending").click()
    expect(tab.get_by_role("heading", name="Welding simulator badges")).to_be_visible()
    page = tab.content()
    assert "Erik" not in page
    assert "unseen" not in page
    checked(tab, "assess")

    # The rubric with the keyboard alone: Tab into each criterion's radio group, arrow keys to a level, Tab to the
    # comment; then the rationale and Enter on the button.
    levels = {"relevance": 4, "effectiveness": 3, "transferability": 3, "sustainability": 2, "partnership": 4}
    for key, level in levels.items():
        tab_to(tab, f"#score_{key}-0", limit=60)
        for _ in range(level):
            tab.keyboard.press("ArrowRight")
        assert tab.evaluate(f"document.querySelector('#score_{key}-{level}').checked")
        tab.keyboard.press("Tab")
        tab.keyboard.type(f"About {key}")
    tab_to(tab, "#score_openness-0", limit=60)
    for _ in range(5):  # past level 4 to "not assessable", the sixth option
        tab.keyboard.press("ArrowRight")
    assert tab.evaluate("document.querySelector('#score_openness-5').checked")
    scores = dict(levels, openness=None)
    expected = assessment_mpi(scores)
    expect(tab.locator("#mpi-preview")).to_have_attribute("data-mpi", f"{expected:g}")
    tab_to(tab, "#rationale", limit=60)
    tab.keyboard.type("Evidence from two pilots.")
    tab_to(tab, "#rubric-form button[type=submit]", limit=10)
    tab.keyboard.press("Enter")
    expect(tab.get_by_text("Your assessment is recorded.")).to_be_visible()
    stored = next(x for x in services.app.get_innovation(iid).assessments if x["evaluator_id"] == str(a.id))
    assert stored["mpi"] == expected
    assert stored["comments"]["relevance"] == "About relevance"
    expect(tab.get_by_text("Erik's reasons, unseen")).to_be_visible()
    checked(tab, "assess-after")
    assert errors == []
    context.close()


def test_an_assessment_typed_while_the_session_lapsed_is_kept_through_signing_in_again(
    server: dict[str, Any], browser: Any, world: World
) -> None:
    """The session lapses (its cookie is gone) while the evaluator types: sending the form leads to the sign-in, and
    signing in again brings them back to the assessment with what they typed. Once recorded, the draft is gone."""
    services = server["services"]
    iid = world.submit(title="Robotics tutors")
    person = services.people.create(
        actor_id="admin", name="Ilse Berg", email="ilse@example.org", role="evaluator", organisation_id=world.eval_org_c
    )
    services.signin.set_password(person.id, PASSWORD, actor_id="admin")
    services.app.assign_evaluator(
        iid, actor=world.manager, evaluator_id=str(person.id), evaluator_organisation_id=person.organisation_id
    )
    services.read_model.catch_up()
    context, tab, errors = sign_in(browser, server["base"], "ilse@example.org", PASSWORD)
    tab.clock.install()
    tab.goto(f"{server['base']}/assess/{iid}")
    # Typing keeps the session alive: a request every third of the idle time (30 minutes) while the evaluator types.
    asked: list[str] = []
    tab.on("request", lambda request: asked.append(request.url) if "/rubric/preview" in request.url else None)
    tab.locator("#comment_openness").fill("A first thought")
    assert asked == []
    tab.clock.fast_forward("11:00")
    tab.locator("#comment_openness").fill("A first thought, then a second")
    for _ in range(50):
        if asked:
            break
        tab.wait_for_timeout(100)
    assert len(asked) == 1
    for key, level in (("relevance", 4), ("effectiveness", 2)):
        tab.locator(f"#score_{key}-{level}").check()
    tab.locator("#comment_relevance").fill("Typed before the lapse")
    tab.locator("#rationale").fill("A long rationale, typed for half an hour")
    context.clear_cookies()  # what a lapsed session leaves: no valid cookie
    tab.locator("#rubric-form button[type=submit]").click()
    expect(tab.locator("#email")).to_be_visible()
    tab.locator("#email").fill("ilse@example.org")
    tab.locator("#password").fill(PASSWORD)
    tab.get_by_role("button", name="Sign in").click()
    expect(tab.locator("#rationale")).to_have_value("A long rationale, typed for half an hour")
    assert tab.url.endswith(f"/assess/{iid}")
    assert tab.locator("#score_relevance-4").is_checked()
    assert tab.locator("#score_effectiveness-2").is_checked()
    expect(tab.locator("#comment_relevance")).to_have_value("Typed before the lapse")
    for key in ("transferability", "sustainability", "partnership", "openness"):
        tab.locator(f"#score_{key}-3").check()
    tab.locator("#rubric-form button[type=submit]").click()
    expect(tab.get_by_text("Your assessment is recorded.")).to_be_visible()
    stored = next(a for a in services.app.get_innovation(iid).assessments if a["evaluator_id"] == str(person.id))
    assert stored["rationale"] == "A long rationale, typed for half an hour"
    assert stored["comments"]["relevance"] == "Typed before the lapse"
    drafts = tab.evaluate("Object.keys(sessionStorage).filter((k) => k.startsWith('tracker:assessment-draft:'))")
    assert drafts == []
    assert errors == []
    context.close()


def test_an_assessment_draft_does_not_outlive_its_evaluators_session_in_the_browser(
    server: dict[str, Any], browser: Any, world: World
) -> None:
    """On a shared browser: what evaluator A typed is not offered to evaluator B, who signs in after A signed out in
    the same tab and opens the same innovation in the same round (blind review holds)."""
    services = server["services"]
    iid = world.submit(title="Shared laptop idea")
    people = []
    for name, email, organisation in (
        ("Aina", "aina@example.org", world.eval_org_a),
        ("Bo", "bo@example.org", world.eval_org_b),
    ):
        person = services.people.create(
            actor_id="admin", name=name, email=email, role="evaluator", organisation_id=organisation
        )
        services.signin.set_password(person.id, PASSWORD, actor_id="admin")
        services.app.assign_evaluator(
            iid, actor=world.manager, evaluator_id=str(person.id), evaluator_organisation_id=person.organisation_id
        )
        people.append(person)
    services.read_model.catch_up()
    context, tab, errors = sign_in(browser, server["base"], "aina@example.org", PASSWORD)
    tab.goto(f"{server['base']}/assess/{iid}")
    tab.locator("#score_relevance-1").check()
    tab.locator("#rationale").fill("Aina's unsent judgement")
    tab.get_by_role("button", name="Sign out").click()
    expect(tab.locator("#email")).to_be_visible()
    assert tab.evaluate("Object.keys(sessionStorage)") == []
    tab.locator("#email").fill("bo@example.org")
    tab.locator("#password").fill(PASSWORD)
    tab.get_by_role("button", name="Sign in").click()
    tab.goto(f"{server['base']}/assess/{iid}")
    expect(tab.locator("#rationale")).to_have_value("")
    assert not tab.locator("#score_relevance-1").is_checked()
    assert errors == []
    context.close()


def test_a_round_from_the_providers_form_to_the_managers_decision(
    server: dict[str, Any], browser: Any, world: World
) -> None:
    """The provider submits through the form; the manager assigns an evaluator from the list (the owner's own
    evaluator is not offered); the evaluator assesses; the manager advances from the checklist page; the provider
    reads the decision and the assessment without the evaluator's name."""
    services = server["services"]
    people = {}
    for role, email, name, organisation in (
        ("provider", "pia@example.org", "Pia Provider", world.owner),
        ("manager", "max@example.org", "Max Manager", None),
        ("evaluator", "ella@example.org", "Ella Evaluator", world.eval_org_c),
        ("evaluator", "bruno@example.org", "Bruno Evaluator", world.eval_org_b),
        ("evaluator", "otto@example.org", "Otto Owner", world.owner),
        ("analyst", "ann@example.org", "Ann Analyst", None),
    ):
        people[email] = services.people.create(
            actor_id="admin", name=name, email=email, role=role, organisation_id=organisation
        )
        services.signin.set_password(people[email].id, PASSWORD, actor_id="admin")

    provider, tab, provider_errors = sign_in(browser, server["base"], "pia@example.org", PASSWORD)
    tab.get_by_role("link", name="Submit an innovation").first.click()
    tab.get_by_label("Title").fill("Peer tutoring for apprentices")
    tab.get_by_label("Summary").fill("Second-year apprentices tutor first-years.")
    tab.get_by_label("Themes, separated by commas").fill("peer learning, apprenticeships")
    checked(tab, "submit")
    tab.get_by_role("button", name="Submit").click()
    expect(tab.get_by_role("heading", name="Peer tutoring for apprentices")).to_be_visible()
    checked(tab, "provider-innovation")
    innovation_url = tab.url

    manager, desk, manager_errors = sign_in(browser, server["base"], "max@example.org", PASSWORD)
    desk.get_by_role("link", name="Portfolio").first.click()
    desk.get_by_role("link", name="Peer tutoring for apprentices").click()
    options = desk.locator("#evaluator option").all_inner_texts()
    assert any("Ella Evaluator" in o for o in options)
    assert not any("Otto Owner" in o for o in options), "an evaluator with a conflict of interest is offered"
    checked(desk, "manager-round")
    for name in ("Ella Evaluator", "Bruno Evaluator"):
        choices = desk.locator("#evaluator option").all_inner_texts()
        desk.get_by_label("Evaluator", exact=True).select_option(label=next(o for o in choices if name in o))
        desk.get_by_role("button", name="Assign", exact=True).click()
        expect(desk.get_by_text(f"{name} is assigned.")).to_be_visible()

    # Evaluator B assesses first; A finds the innovation in the queue and sees no sign of B's assessment.
    second, bruno, second_errors = sign_in(browser, server["base"], "bruno@example.org", PASSWORD)
    bruno.get_by_role("link", name="My queue").first.click()
    bruno.get_by_role("link", name="Peer tutoring for apprentices").click()
    for key, level in FULL_SCORES.items():
        bruno.locator(f"#score_{key}-{max(level - 1, 0)}").check()
    bruno.get_by_label("Rationale").fill("Bruno's reasons: the pilot is still to come.")
    bruno.get_by_role("button", name="Record my assessment").click()
    expect(bruno.get_by_text("Your assessment is recorded.")).to_be_visible()

    evaluator, work, evaluator_errors = sign_in(browser, server["base"], "ella@example.org", PASSWORD)
    work.get_by_role("link", name="My queue").first.click()
    work.get_by_role("link", name="Peer tutoring for apprentices").click()
    page = work.content()
    assert "Bruno" not in page
    assert "pilot is still to come" not in page
    assert "Consolidated MPI" not in page
    for key, level in FULL_SCORES.items():
        work.locator(f"#score_{key}-{level}").check()
    # The preview's figure as the script writes it (a JavaScript number); it settles on the last levels chosen.
    expect(work.locator("#mpi-preview")).to_have_attribute("data-mpi", f"{assessment_mpi(FULL_SCORES):g}")
    work.get_by_label("Rationale").fill("Clear need; strong partnership.")
    work.get_by_role("button", name="Record my assessment").click()
    expect(work.get_by_text("Your assessment is recorded.")).to_be_visible()
    stored = services.app.get_innovation(UUID(innovation_url.rsplit("/", 1)[-1])).latest_assessments("identification")
    assert {a["mpi"] for a in stored if a["evaluator_id"] == str(people["ella@example.org"].id)} == {
        assessment_mpi(FULL_SCORES)
    }
    # Her own is in: now B's assessment shows.
    expect(work.get_by_text("Bruno's reasons: the pilot is still to come.")).to_be_visible()
    expect(work.get_by_text("Consolidated MPI", exact=False)).to_be_visible()

    desk.reload()
    expect(desk.get_by_text("met: At least one assessment recorded in identification (has 2).")).to_be_visible()
    desk.get_by_label("advance").check()
    desk.get_by_label("Reasons").fill("The panel supports testing.")
    desk.get_by_role("button", name="Record the decision").click()
    expect(desk.get_by_text("Decision recorded: advance.")).to_be_visible()
    checked(desk, "manager-decided")

    tab.goto(innovation_url)
    expect(tab.get_by_text("The panel supports testing.")).to_be_visible()
    expect(tab.get_by_text("Clear need; strong partnership.")).to_be_visible()
    expect(tab.get_by_text("evaluator 1")).to_be_visible()
    expect(tab.get_by_text("evaluator 2")).to_be_visible()
    assert "Ella Evaluator" not in tab.content()
    assert "Bruno Evaluator" not in tab.content()
    checked(tab, "provider-after-decision")

    # The analyst's dashboard reads the API with the pages' session: no key to paste.
    analyst, board, analyst_errors = sign_in(browser, server["base"], "ann@example.org", PASSWORD)
    board.get_by_role("link", name="Dashboard").first.click()
    expect(board.locator("#innovations-table tbody tr", has_text="Peer tutoring for apprentices")).to_be_visible()
    row = board.locator("#innovations-table tbody tr", has_text="Peer tutoring for apprentices")
    expect(row).to_contain_text("testing")
    # ...and finds the decision in the audit, then checks the log against the chain's head.
    board.goto(f"{server['base']}/audit?type=Advanced")
    expect(board.locator("tbody tr", has_text="Max Manager")).to_be_visible()
    checked(board, "audit")
    board.get_by_role("link", name="The audit chain", exact=False).click()
    position = board.locator("dl.facts dd").first.inner_text()
    board.get_by_label("Position").fill(position)
    board.get_by_label("Hash").fill(board.locator("dl.facts code").inner_text())
    board.get_by_role("button", name="Check the log").click()
    expect(board.get_by_text("The event log matches")).to_be_visible()
    checked(board, "audit-chain")
    assert provider_errors == manager_errors == evaluator_errors == second_errors == analyst_errors == []
    for context in (provider, manager, evaluator, second, analyst):
        context.close()


def test_a_round_in_lithuanian(server: dict[str, Any], browser: Any, world: World) -> None:
    """The round's pages read in Lithuanian, dates included: the manager assigns and decides, the evaluator works
    from the queue, the provider reads the decision and the anonymised assessment."""
    services = server["services"]
    people = {}
    for role, email, organisation in (
        ("provider", "lina@example.org", world.owner),
        ("manager", "mantas@example.org", None),
        ("evaluator", "vaida@example.org", world.eval_org_c),
    ):
        people[role] = services.people.create(
            actor_id="admin", name=f"Lt {role}", email=email, role=role, organisation_id=organisation, locale="lt"
        )
        services.signin.set_password(people[role].id, PASSWORD, actor_id="admin")
    world.submit(title="Mentorystė pameistriams")
    services.read_model.catch_up()
    due = date(2027, 1, 15)
    english_due = format_date(due, locale="en")

    manager, desk, manager_errors = sign_in(browser, server["base"], "mantas@example.org", PASSWORD, "lt-LT")
    desk.get_by_role("link", name="Portfelis").first.click()
    desk.wait_for_url("**/portfolio")
    checked(desk, "portfolio-lt")
    desk.get_by_role("link", name="Mentorystė pameistriams").click()
    choices = desk.locator("#evaluator option").all_inner_texts()
    desk.get_by_label("Vertintojas", exact=True).select_option(label=next(o for o in choices if "Lt evaluator" in o))
    desk.locator("#due_on").fill(due.isoformat())
    desk.get_by_role("button", name="Paskirti", exact=True).click()
    expect(desk.get_by_text("Lt evaluator paskirtas (-a).")).to_be_visible()
    round_page = desk.content()
    assert format_date(due, locale="lt") in round_page
    assert english_due not in round_page
    checked(desk, "manager-round-lt")

    evaluator, work, evaluator_errors = sign_in(browser, server["base"], "vaida@example.org", PASSWORD, "lt-LT")
    work.get_by_role("link", name="Mano eilė").first.click()
    expect(work.get_by_role("link", name="Mentorystė pameistriams")).to_be_visible()
    assert format_date(due, locale="lt") in work.content()
    checked(work, "queue-lt")
    work.get_by_role("link", name="Kita laukianti").click()
    expect(work.get_by_role("heading", name="Mentorystė pameistriams")).to_be_visible()
    checked(work, "assess-lt")
    for key, level in FULL_SCORES.items():
        work.locator(f"#score_{key}-{level}").check()
    work.get_by_label("Pagrindimas").fill("Aiškus poreikis.")
    work.get_by_role("button", name="Užregistruoti mano vertinimą").click()
    expect(work.get_by_text("Jūsų vertinimas užregistruotas.", exact=False)).to_be_visible()

    desk.reload()
    desk.get_by_label("perkelti į kitą etapą").check()
    desk.get_by_label("Priežastys").fill("Verta išbandyti.")
    desk.get_by_role("button", name="Užregistruoti sprendimą").click()
    expect(desk.get_by_text("Sprendimas užregistruotas: perkelti į kitą etapą.")).to_be_visible()

    provider, tab, provider_errors = sign_in(browser, server["base"], "lina@example.org", PASSWORD, "lt-LT")
    tab.get_by_role("link", name="Mano inovacijos").first.click()
    tab.get_by_role("link", name="Mentorystė pameistriams").click()
    expect(tab.get_by_text("Verta išbandyti.")).to_be_visible()
    expect(tab.get_by_text("vertintojas 1")).to_be_visible()
    page = tab.content()
    assert "Lt evaluator" not in page
    assert format_date(date.today(), locale="lt") in page
    assert format_date(date.today(), locale="en") not in page
    checked(tab, "provider-innovation-lt")
    assert manager_errors == evaluator_errors == provider_errors == []
    for context in (manager, evaluator, provider):
        context.close()


def test_an_admin_invites_people_who_then_sign_in_and_the_pages_in_lithuanian(
    server: dict[str, Any], browser: Any, world: World, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """An admin working in Lithuanian invites a provider, a manager and two evaluators; each opens their link, sets
    a password and is signed in. The admin's pages read in Lithuanian, dates included."""
    services = server["services"]
    admin = services.people.create(
        actor_id="admin", name="Ada Adams", email="ada@example.org", role="admin", locale="lt"
    )
    services.signin.set_password(admin.id, PASSWORD, actor_id="admin")
    context, tab, errors = sign_in(browser, server["base"], "ada@example.org", PASSWORD, locale="lt-LT")
    assert tab.locator("html").get_attribute("lang") == "lt"
    tab.get_by_role("link", name="Žmonės").first.click()
    tab.wait_for_url("**/admin/people")
    checked(tab, "admin-people-lt")
    invitees = [
        ("Paula Teikėja", "paula@example.org", "provider", world.owner),
        ("Marius Vadovas", "marius@example.org", "manager", None),
        ("Eglė Vertintoja", "egle@example.org", "evaluator", world.eval_org_a),
        ("Jonas Vertintojas", "jonas@example.org", "evaluator", world.eval_org_b),
    ]
    for name, email, role, organisation in invitees:
        tab.goto(f"{server['base']}/admin/people")
        tab.get_by_label("Vardas", exact=True).fill(name)
        tab.get_by_label("El. pašto adresas").fill(email)
        tab.locator("#role").select_option(role)
        if organisation is not None:
            tab.locator("#organisation").select_option(str(organisation))
        tab.get_by_role("button", name="Pridėti ir pakviesti").click()
        expect(tab.get_by_role("heading", name=f"Kvietimas: {name}")).to_be_visible()
        link = tab.get_by_label("Kvietimo nuoroda").input_value()
        if email == "paula@example.org":
            checked(tab, "admin-invited-lt")
        guest = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
        page = guest.new_page()
        page.goto(link.replace("http://127.0.0.1:8000", server["base"]))
        page.get_by_label("New password").fill(PASSWORD)
        page.get_by_label("The same password again").fill(PASSWORD)
        page.get_by_role("button", name="Set password").click()
        expect(page.get_by_role("heading", name=f"Welcome, {name}")).to_be_visible()
        guest.close()
    with services.read_model.reader.connect() as conn:
        person = services.people.list(conn, q="paula@example.org")[0][0]
    tab.goto(f"{server['base']}/admin/people/{person.id}")
    checked(tab, "admin-person-lt")
    expected_day = format_date(date.today(), locale="lt")
    assert expected_day in tab.content(), "the change log's dates are not in Lithuanian"
    tab.goto(f"{server['base']}/admin/organisations")
    checked(tab, "admin-organisations-lt")
    tab.goto(f"{server['base']}/admin/ecosystems")
    checked(tab, "admin-ecosystems-lt")
    tab.locator("tbody a").first.click()
    expect(tab.get_by_role("heading", name="Pridėti narį")).to_be_visible()
    checked(tab, "admin-ecosystem-lt")
    tab.goto(f"{server['base']}/admin/imports")
    checked(tab, "admin-imports-lt")
    # An import from the page: a part of the real CoVE file, and a row the importer refuses; its summary.
    projects = [*json.loads(COVE.read_text(encoding="utf-8"))[:2], {"acronym": "", "project_title": ""}]
    part = tmp_path_factory.mktemp("import") / "cove-part.json"
    part.write_text(json.dumps(projects), encoding="utf-8")
    tab.locator("#file").set_input_files(str(part))
    tab.get_by_role("button", name="Importuoti", exact=True).click()
    expect(tab.get_by_role("heading", name="Atmestos eilutės")).to_be_visible(timeout=60_000)
    checked(tab, "admin-import-done-lt")
    assert errors == []
    context.close()


def test_an_imports_page_updates_its_progress_in_place_and_opens_the_summary_when_it_ends(
    server: dict[str, Any], browser: Any
) -> None:
    """While an import runs, its page keeps the reader's place: the progress changes without the page reloading;
    when the import ends, the page opens again on its summary."""
    services = server["services"]
    admin = services.people.create(actor_id="admin", name="Ines Importer", email="ines@example.org", role="admin")
    services.signin.set_password(admin.id, PASSWORD, actor_id="admin")
    runner = new_runner()
    job_id = running_import_job(
        services, person_id=admin.id, runner=runner, path="/nonexistent", updated_at=utc_now(), done=0
    )
    context, tab, errors = sign_in(browser, server["base"], "ines@example.org", PASSWORD)
    tab.goto(f"{server['base']}/admin/imports/{job_id}")
    expect(tab.locator("#progress-value")).to_have_text("0%")
    tab.evaluate("window.stillThisPage = true")
    report = ImportJobs(services).report
    assert report(job_id, runner, done=2)
    expect(tab.locator("#progress-value")).to_have_text("67%", timeout=10_000)
    assert tab.evaluate("window.stillThisPage === true"), "the page reloaded to show its progress"
    summary = Summary("cove", rows=3, created=3).as_dict()
    assert report(job_id, runner, state="done", done=3, summary=summary, finished_at=utc_now())
    expect(tab.get_by_text("Rows read")).to_be_visible(timeout=10_000)
    # The state is in the title, which a screen reader says when the page opens again.
    assert tab.title().startswith("Import of ")
    assert ": done ·" in tab.title()
    assert errors == []
    context.close()


def _luminance(rgb: str) -> float:
    channels = [int(c) / 255 for c in re.findall(r"\d+", rgb)[:3]]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_the_focus_ring_stands_out_on_the_header_and_on_the_page(server: dict[str, Any], browser: Any) -> None:
    """WCAG 2.2's non-text contrast: the keyboard focus ring has 3:1 or more against what it is drawn on."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    tab = context.new_page()
    tab.goto(f"{server['base']}/login")
    for selector, background in (("header.site select", "header.site"), ("#email", "body")):
        tab_to(tab, selector, limit=30)
        ring = tab.evaluate(f"getComputedStyle(document.querySelector({selector!r})).outlineColor")
        behind = tab.evaluate(f"getComputedStyle(document.querySelector({background!r})).backgroundColor")
        if behind in ("rgba(0, 0, 0, 0)", "transparent"):
            behind = "rgb(255, 255, 255)"
        light, dark = sorted((_luminance(ring), _luminance(behind)), reverse=True)
        assert (light + 0.05) / (dark + 0.05) >= 3, (selector, ring, behind)
    context.close()


def test_every_other_page_passes_the_scan_and_reflows(server: dict[str, Any], browser: Any, world: World) -> None:
    """The pages the journeys above do not reach: the provider's forms, the queue's other tabs, the portfolio's
    stages, an admin's person page, the refusals (403, 404), in English and Italian."""
    services = server["services"]
    owner = services.people.create(
        actor_id="admin", name="Olivia Owner", email="olivia@example.org", role="provider", organisation_id=world.owner
    )
    services.signin.set_password(owner.id, PASSWORD, actor_id="admin")
    iid = world.submit(title="Scanned innovation")
    pilot = services.app.start_pilot(iid, actor=owner.actor(), site_organisation_id=world.site, started_on="2025-01-10")
    adopter = services.people.create(
        actor_id="admin", name="Adele Adopter", email="adele@example.org", role="provider", organisation_id=world.site
    )
    services.signin.set_password(adopter.id, PASSWORD, actor_id="admin")
    tested = world.submit(title="Scanned innovation in testing")  # past identification, others may see it
    world.to_stage(tested, "testing")
    services.read_model.catch_up()
    for locale in ("en-GB", "it-IT"):
        context, tab, errors = sign_in(browser, server["base"], "olivia@example.org", PASSWORD, locale=locale)
        for name, path in (
            ("mine", "/innovations/mine"),
            ("innovation", f"/innovations/{iid}"),
            ("revise", f"/innovations/{iid}/edit"),
            ("pilot", f"/innovations/{iid}/pilots/new"),
            ("outcome", f"/innovations/{iid}/pilots/{pilot.item_id}/outcome"),
            ("evidence", f"/innovations/{iid}/evidence/new"),
            ("submit-form", "/innovations/new"),
            ("forbidden", "/portfolio"),
            ("not-found", "/innovations/00000000-0000-0000-0000-000000000000"),
            ("account", "/account"),
        ):
            tab.goto(f"{server['base']}{path}")
            checked(tab, f"{name}-{locale}")
        # A refused form, with its errors tied to the fields.
        tab.goto(f"{server['base']}/innovations/{iid}/evidence/new")
        tab.locator("main button[type=submit]").click()
        expect(tab.locator("ul.errors").first).to_be_visible()
        checked(tab, f"evidence-refused-{locale}")
        assert errors == []
        context.close()
        # Another organisation's provider records an adoption.
        context, tab, errors = sign_in(browser, server["base"], "adele@example.org", PASSWORD, locale=locale)
        tab.goto(f"{server['base']}/innovations/{tested}/adoptions/new")
        checked(tab, f"adoption-{locale}")
        tab.locator("main button[type=submit]").click()
        expect(tab.locator("ul.errors").first).to_be_visible()
        checked(tab, f"adoption-refused-{locale}")
        assert errors == []
        context.close()


def test_refusals_say_what_happened_and_change_nothing(server: dict[str, Any], browser: Any, world: World) -> None:
    """In the browser: a stale form, a form without its CSRF token, an expired invitation and a deactivated person."""
    services = server["services"]
    owner = services.people.create(
        actor_id="admin", name="Rita Refused", email="rita@example.org", role="provider", organisation_id=world.owner
    )
    services.signin.set_password(owner.id, PASSWORD, actor_id="admin")
    iid = world.submit(title="Refusals innovation")
    services.read_model.catch_up()
    context, tab, errors = sign_in(browser, server["base"], "rita@example.org", PASSWORD)

    # A stale form: the innovation changes while the form is open.
    tab.goto(f"{server['base']}/innovations/{iid}/edit")
    tab.get_by_label("Title").fill("Refusals innovation, renamed")
    services.app.add_evidence(iid, actor=owner.actor(), kind="report", title="Meanwhile")
    tab.get_by_role("button", name="Save the changes").click()
    expect(tab.get_by_text("This innovation changed since you opened this form.")).to_be_visible()
    expect(tab.get_by_text("evidence added", exact=False)).to_be_visible()
    assert tab.get_by_label("Title").input_value() == "Refusals innovation, renamed"
    assert services.app.get_innovation(iid).title == "Refusals innovation"
    checked(tab, "stale-form")

    # A form sent without its CSRF token.
    tab.goto(f"{server['base']}/innovations/{iid}/evidence/new")
    tab.get_by_label("Title").fill("Sent without a token")
    tab.evaluate("document.querySelectorAll('main input[name=csrf_token]').forEach((e) => e.remove())")
    tab.get_by_role("button", name="Add the evidence").click()
    expect(tab.get_by_text("The form expired or was not sent from this site.")).to_be_visible()
    assert all(e["title"] != "Sent without a token" for e in services.app.get_innovation(iid).evidence)

    # An expired invitation.
    late = services.people.create(actor_id="admin", name="Leo Late", email="leo@example.org", role="analyst")
    long_ago = utc_now() - timedelta(days=INVITATION_DAYS, minutes=1)
    lapsed = services.signin.invite(late.id, actor_id="admin", now=long_ago)
    guest = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = guest.new_page()
    page.goto(f"{server['base']}/invitations/{lapsed.token}")
    expect(page.get_by_text("This invitation is not valid any more")).to_be_visible()
    checked(page, "invitation-expired")
    guest.close()

    # A deactivated person: signed out at the next page, and refused at sign-in.
    services.people.update(owner.id, {"active": False}, actor_id="admin")
    tab.goto(f"{server['base']}/innovations/mine")
    expect(tab.get_by_role("heading", name="Sign in")).to_be_visible()
    tab.locator("#email").fill("rita@example.org")
    tab.locator("#password").fill(PASSWORD)
    tab.locator("main button[type=submit]").click()
    expect(tab.get_by_text("The e-mail address or the password is wrong.")).to_be_visible()
    assert errors == []
    context.close()


def test_an_admin_adds_a_webhook_endpoint_with_the_keyboard_and_reads_its_log(
    server: dict[str, Any], browser: Any, world: World
) -> None:
    """The webhook pages in English and Lithuanian: an endpoint added with the keyboard alone, its secret shown once,
    its delivery log once an event has gone to a real receiver, and the e-mails waiting in the outbox."""
    services = server["services"]
    for n, (locale, language) in enumerate((("en-GB", "en"), ("lt-LT", "lt"))):
        email = f"webhook-admin-{n}@example.org"
        admin = services.people.create(actor_id="admin", name=f"Ada {n}", email=email, role="admin", locale=language)
        services.signin.set_password(admin.id, PASSWORD, actor_id="admin")
        with webhook_receiver() as receiver:
            context, tab, errors = sign_in(browser, server["base"], email, PASSWORD, locale=locale)
            tab.goto(f"{server['base']}/admin/webhooks")
            checked(tab, f"webhooks-{language}")
            tab_to(tab, "#url")
            tab.keyboard.type(receiver.url)
            tab.keyboard.press("Tab")
            tab.keyboard.press("Home")  # "every event type", the first choice
            tab_to(tab, "main form button[type=submit]")
            tab.keyboard.press("Enter")
            secret = tab.locator("#secret")
            expect(secret).to_have_value(re.compile(r"^whsec_"))
            checked(tab, f"webhook-secret-{language}")
            endpoint = next(e for e in services.outbox.endpoints.list() if e.url == receiver.url)
            assert endpoint.event_types == ["*"]
            world.submit(title=f"Sent to a receiver {n}")
            deadline = time.monotonic() + 20
            while not receiver.received and time.monotonic() < deadline:
                time.sleep(0.05)
            assert receiver.received, "the web process's outbox did not deliver"
            tab.goto(f"{server['base']}/admin/webhooks/{endpoint.id}")
            expect(tab.locator("tbody tr").first).to_be_visible()
            checked(tab, f"webhook-endpoint-{language}")
            tab.goto(f"{server['base']}/admin/emails")
            checked(tab, f"outbox-emails-{language}")
            assert errors == []
            context.close()


def test_a_decimal_comma_typed_in_lithuanian_is_recorded_as_written(
    server: dict[str, Any], browser: Any, world: World
) -> None:
    """A browser's number box drops a decimal comma (8,5 would arrive as 85): the decimal fields are text boxes,
    read in the reader's language."""
    services = server["services"]
    owner = services.people.create(
        actor_id="admin",
        name="Laima",
        email="laima@example.org",
        role="provider",
        organisation_id=world.owner,
        locale="lt",
    )
    services.signin.set_password(owner.id, PASSWORD, actor_id="admin")
    iid = world.submit(title="Dešimtainis kablelis")
    pilot = services.app.start_pilot(iid, actor=owner.actor(), site_organisation_id=world.site, started_on="2025-01-10")
    services.read_model.catch_up()
    context, tab, errors = sign_in(browser, server["base"], "laima@example.org", PASSWORD, "lt-LT")
    tab.goto(f"{server['base']}/innovations/{iid}/pilots/{pilot.item_id}/outcome")
    tab.locator("#ended_on").fill("2025-03-01")
    tab.get_by_label("Dalyviai").fill("12")
    tab.get_by_label("Baigusiųjų dalis, procentais").press_sequentially("8,5")
    tab.locator("#satisfaction").press_sequentially("0,5")
    tab.get_by_role("button", name="Užregistruoti rezultatą").click()
    tab.wait_for_url(f"**/innovations/{iid}")
    (outcome,) = [p["outcome"] for p in services.app.get_innovation(iid).pilots.values()]
    assert (outcome["completion_rate"], outcome["satisfaction"]) == (pytest.approx(0.085), 0.5)  # a rate is a fraction
    assert errors == []
    context.close()
