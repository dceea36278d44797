"""Sign-in, invitations, sessions and the account page, over Flask's test client."""

from __future__ import annotations

import re
from typing import Any

import itsdangerous.timed
import pytest
import structlog
from click.testing import CliRunner

from bootstrap import create_app
from cli.main import main as cli
from runtime.settings import Settings
from tests.pages.conftest import PASSWORD, Pages, csrf_of, make_pages

WRONG = "The e-mail address or the password is wrong."


def test_pages_ask_to_sign_in_and_come_back_after(pages: Pages) -> None:
    pages.person("analyst", "aino@example.org")
    client = pages.client()
    asked = client.get("/account")
    assert asked.status_code == 302
    assert asked.headers["Location"] == "/login?next=/account"
    token = csrf_of(client.get(asked.headers["Location"]))
    signed = client.post(
        "/login?next=/account", data={"csrf_token": token, "email": "aino@example.org", "password": PASSWORD}
    )
    assert signed.status_code == 302
    assert signed.headers["Location"] == "/account"
    page = client.get("/account").get_data(as_text=True)
    assert "aino@example.org" in page
    assert "policy analyst" in page


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"])
def test_sign_in_never_sends_the_browser_to_another_site(pages: Pages, target: str) -> None:
    pages.person("analyst", "aino@example.org")
    client = pages.client()
    token = csrf_of(client.get("/login"))
    signed = client.post(
        "/login",
        query_string={"next": target},
        data={"csrf_token": token, "email": "aino@example.org", "password": PASSWORD},
    )
    assert signed.status_code == 302
    assert signed.headers["Location"] == "/"


def test_a_wrong_password_and_an_unknown_address_get_the_same_answer(pages: Pages) -> None:
    pages.person("analyst", "aino@example.org")
    wrong = pages.sign_in(pages.client(), "aino@example.org", "not the password at all")
    unknown = pages.sign_in(pages.client(), "nobody@example.org", "not the password at all")
    assert wrong.status_code == unknown.status_code == 422
    assert WRONG in wrong.get_data(as_text=True)
    assert WRONG in unknown.get_data(as_text=True)
    # The address typed is kept; the password is not sent back.
    assert 'value="aino@example.org"' in wrong.get_data(as_text=True)
    assert "not the password at all" not in wrong.get_data(as_text=True)


def test_failed_sign_ins_are_limited_per_account_even_from_many_addresses(sqlite_url: str) -> None:
    pages = make_pages(sqlite_url, auth_failure_limit="3/minute")
    try:
        pages.person("analyst", "aino@example.org")
        for n in range(3):
            client = pages.client()
            env = {"REMOTE_ADDR": f"10.0.0.{n}"}
            token = csrf_of(client.get("/login", environ_base=env))
            answer = client.post(
                "/login",
                data={"csrf_token": token, "email": "aino@example.org", "password": "wrong password"},
                environ_base=env,
            )
            assert answer.status_code == 422
        client = pages.client()
        env = {"REMOTE_ADDR": "10.0.0.99"}
        token = csrf_of(client.get("/login", environ_base=env))
        refused = client.post(
            "/login", data={"csrf_token": token, "email": "AINO@example.org", "password": PASSWORD}, environ_base=env
        )
        assert refused.status_code == 429
        assert "Too many failed sign-ins" in refused.get_data(as_text=True)
        assert client.get("/account").status_code == 302, "the right password got in past the limit"
        # Another account from the same address is not held back by that account's failures.
        pages.person("analyst", "other@example.org")
        assert pages.sign_in(pages.client(), "other@example.org").status_code == 302
    finally:
        pages.services.close()


def test_failed_sign_ins_are_limited_per_address(sqlite_url: str) -> None:
    pages = make_pages(sqlite_url, auth_failure_limit="3/minute")
    try:
        pages.person("analyst", "aino@example.org")
        for n in range(3):
            assert pages.sign_in(pages.client(), f"guess{n}@example.org", "wrong password").status_code == 422
        assert pages.sign_in(pages.client(), "aino@example.org").status_code == 429
    finally:
        pages.services.close()


def test_a_form_without_its_csrf_token_changes_nothing(pages: Pages) -> None:
    pages.person("analyst", "aino@example.org")
    client = pages.client()
    refused = client.post("/login", data={"email": "aino@example.org", "password": PASSWORD})
    assert refused.status_code == 400
    assert "The form expired or was not sent from this site" in refused.get_data(as_text=True)
    assert client.get("/account").status_code == 302
    assert pages.sign_in(client, "aino@example.org").status_code == 302
    changed = client.post("/account", data={"current": PASSWORD, "password": "x" * 20, "confirm": "x" * 20})
    assert changed.status_code == 400
    assert pages.services.signin.authenticate("aino@example.org", PASSWORD) is not None
    assert client.post("/logout").status_code == 400
    assert client.get("/account").status_code == 200, "signed out without a token"


def test_signing_out_ends_the_session_everywhere_even_a_copy_of_its_cookie(pages: Pages) -> None:
    """The session is a cookie the browser keeps: a copy of it taken before the sign-out (another device, a stolen
    cookie) stops working too, on the pages and on the API; signing in again makes a new one."""
    pages.person("analyst", "aino@example.org")
    laptop, phone = pages.client(), pages.client()
    assert pages.sign_in(laptop, "aino@example.org").status_code == 302
    assert pages.sign_in(phone, "aino@example.org").status_code == 302
    copied = laptop.get_cookie("tracker_session")
    assert copied is not None
    thief = pages.client()
    thief.set_cookie("tracker_session", copied.value)
    assert thief.get("/account").status_code == 200
    assert thief.get("/api/v1/me").status_code == 200
    form = laptop.get("/account")
    assert laptop.post("/logout", data={"csrf_token": csrf_of(form)}).status_code == 302
    for client in (laptop, thief, phone):
        assert client.get("/account").status_code == 302
        assert client.get("/api/v1/me").status_code == 401
    assert pages.sign_in(phone, "aino@example.org").status_code == 302
    assert phone.get("/account").status_code == 200


def test_an_unknown_page_address_answers_a_page_and_an_unknown_api_address_a_problem(pages: Pages) -> None:
    """What no route answers outside the API (a typo, an id that is not one, a form's address opened directly) is
    an HTML page in the reader's language; under /api/ it stays problem+json."""
    pages.person("manager", "marta@example.org")
    client = pages.client()
    assert pages.sign_in(client, "marta@example.org").status_code == 302
    for path in ("/innovations", "/manage/not-a-uuid", "/admin/imports/zzz", "/no/such/page"):
        answer = client.get(path)
        assert (answer.status_code, answer.mimetype) == (404, "text/html"), path
        assert "Not found" in answer.get_data(as_text=True), path
    form_only = client.get("/logout")
    assert (form_only.status_code, form_only.mimetype) == (405, "text/html")
    assert "POST" in form_only.headers["Allow"]
    assert "only receives forms" in form_only.get_data(as_text=True)
    client.post("/language", data={"csrf_token": csrf_of(client.get("/account")), "language": "lt", "next": "/"})
    assert "Nerasta" in client.get("/no/such/page").get_data(as_text=True)
    for path, status in (("/api/v1/no-such-thing", 404), ("/api/v1/innovations/not-a-uuid", 404), ("/healthz/x", 404)):
        answer = client.get(path)
        assert (answer.status_code, answer.mimetype) == (status, "application/problem+json"), path
    assert client.delete("/api/v1/innovations").mimetype == "application/problem+json"


def test_an_invitation_reads_in_the_invited_persons_language_unless_the_browser_picks_another(pages: Pages) -> None:
    person = pages.person("provider", "ona@example.org", organisation=pages.world.owner, password=None, locale="lt")
    link = f"/invitations/{pages.services.signin.invite(person.id, actor_id='admin').token}"
    client = pages.client()
    page = client.get(link, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="lt">' in page
    token = csrf_of(client.get(link))
    client.post("/language", data={"csrf_token": token, "language": "it", "next": link})
    assert '<html lang="it">' in client.get(link).get_data(as_text=True)
    # Chosen before setting the password, the language becomes the person's: their pages stay in it.
    form = client.get(link)
    done = client.post(link, data={"csrf_token": csrf_of(form), "password": PASSWORD, "confirm": PASSWORD})
    assert done.status_code == 302
    assert pages.services.people.get(person.id).locale == "it"
    assert '<html lang="it">' in client.get("/").get_data(as_text=True)


def test_the_request_log_never_holds_an_invitations_token(pages: Pages) -> None:
    """Whoever reads the logs must not be able to use a link they hold: the path is logged with `<token>`."""
    person = pages.person("provider", "ieva@example.org", organisation=pages.world.owner, password=None)
    invitation = pages.services.signin.invite(person.id, actor_id="admin")
    client = pages.client()
    with structlog.testing.capture_logs() as logs:
        form = client.get(f"/invitations/{invitation.token}")
        client.post(f"/invitations/{invitation.token}", data={"csrf_token": csrf_of(form), "password": "short"})
        client.get("/invitations/not-a-token")
        client.get("/login")
    requests = [entry for entry in logs if entry["event"] == "request"]
    assert [entry["path"] for entry in requests] == ["/invitations/<token>"] * 3 + ["/login"]
    assert invitation.token not in repr(logs)


def test_an_invitation_link_sets_the_password_once_and_signs_in(pages: Pages) -> None:
    person = pages.person("provider", "paulius@example.org", organisation=pages.world.owner, password=None)
    invitation = pages.services.signin.invite(person.id, actor_id="admin")
    client = pages.client()
    form = client.get(f"/invitations/{invitation.token}")
    assert form.status_code == 200
    assert "paulius@example.org" in form.get_data(as_text=True)
    token = csrf_of(form)
    short = client.post(
        f"/invitations/{invitation.token}", data={"csrf_token": token, "password": "too short", "confirm": "too short"}
    )
    assert short.status_code == 422
    assert "Use at least 12 characters." in short.get_data(as_text=True)
    differ = client.post(
        f"/invitations/{invitation.token}", data={"csrf_token": token, "password": PASSWORD, "confirm": PASSWORD + "!"}
    )
    assert differ.status_code == 422
    assert "The two passwords differ." in differ.get_data(as_text=True)
    done = client.post(
        f"/invitations/{invitation.token}", data={"csrf_token": token, "password": PASSWORD, "confirm": PASSWORD}
    )
    assert done.status_code == 302
    assert done.headers["Location"] == "/"
    assert "Your password is set" in client.get("/").get_data(as_text=True)
    again = pages.client().get(f"/invitations/{invitation.token}")
    assert again.status_code == 404
    assert "not valid any more" in again.get_data(as_text=True)


def test_an_expired_invitation_gets_a_clear_answer(pages: Pages) -> None:
    from datetime import timedelta

    from access.signin import INVITATION_DAYS
    from projections.clock import utc_now

    person = pages.person("provider", "paulius@example.org", organisation=pages.world.owner, password=None)
    lapsed = pages.services.signin.invite(
        person.id, actor_id="admin", now=utc_now() - timedelta(days=INVITATION_DAYS, minutes=1)
    )
    client = pages.client()
    answer = client.get(f"/invitations/{lapsed.token}")
    assert answer.status_code == 404
    assert "it expired" in answer.get_data(as_text=True)
    token = csrf_of(client.get("/login"))
    posted = client.post(
        f"/invitations/{lapsed.token}", data={"csrf_token": token, "password": PASSWORD, "confirm": PASSWORD}
    )
    assert posted.status_code == 404
    assert pages.services.signin.stamp(person.id) is None, "a password was set through a lapsed invitation"


def test_deactivation_ends_the_session_at_the_next_request(pages: Pages) -> None:
    person = pages.person("analyst", "aino@example.org")
    client = pages.client()
    pages.sign_in(client, "aino@example.org")
    assert client.get("/account").status_code == 200
    pages.services.people.update(person.id, {"active": False}, actor_id="admin")
    assert client.get("/account").status_code == 302
    refused = pages.sign_in(client, "aino@example.org")
    assert refused.status_code == 422
    assert WRONG in refused.get_data(as_text=True)


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(pages: Pages) -> None:
    pages.person("analyst", "aino@example.org")
    here, elsewhere = pages.client(), pages.client()
    pages.sign_in(here, "aino@example.org")
    pages.sign_in(elsewhere, "aino@example.org")
    token = csrf_of(here.get("/account"))
    wrong = here.post(
        "/account", data={"csrf_token": token, "current": "not it at all", "password": "x" * 14, "confirm": "x" * 14}
    )
    assert wrong.status_code == 422
    assert "This is not your current password." in wrong.get_data(as_text=True)
    changed = here.post(
        "/account", data={"csrf_token": token, "current": PASSWORD, "password": "x" * 14, "confirm": "x" * 14}
    )
    assert changed.status_code == 302
    assert here.get("/account").status_code == 200
    assert elsewhere.get("/account").status_code == 302


def test_a_session_ends_after_its_idle_time(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    pages = make_pages(sqlite_url, session_idle_minutes=5)
    try:
        pages.person("analyst", "aino@example.org")
        client = pages.client()
        pages.sign_in(client, "aino@example.org")
        real = itsdangerous.timed.time.time
        monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: real() + 4 * 60)
        assert client.get("/account").status_code == 200, "ended before its idle time"
        # That request renewed the session: idle time counts from the last request.
        monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: real() + 8 * 60)
        assert client.get("/account").status_code == 200
        monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: real() + 14 * 60)
        assert client.get("/account").status_code == 302
    finally:
        pages.services.close()


def _cookie(response: Any) -> str:
    found = [v for v in response.headers.getlist("Set-Cookie") if v.startswith("tracker_session=")]
    assert found
    return found[-1]


def test_the_session_cookie_is_httponly_lax_and_secure_when_asked(sqlite_url: str, pages: Pages) -> None:
    pages.person("analyst", "aino@example.org")
    cookie = _cookie(pages.sign_in(pages.client(), "aino@example.org"))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie
    secure = make_pages(sqlite_url.replace("tracker.db", "secure.db"), secure_cookies=True)
    try:
        secure.person("analyst", "aino@example.org")
        client = secure.app.test_client()
        token = csrf_of(client.get("/login", base_url="https://localhost"))
        answer = client.post(
            "/login",
            base_url="https://localhost",
            data={"csrf_token": token, "email": "aino@example.org", "password": PASSWORD},
        )
        assert "Secure" in _cookie(answer)
    finally:
        secure.services.close()


def test_pages_carry_a_strict_content_security_policy(pages: Pages) -> None:
    policy = pages.client().get("/login").headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "form-action 'self'" in policy


def test_the_language_follows_the_browser_then_the_switcher_then_the_person(pages: Pages) -> None:
    pages.person("analyst", "aino@example.org", locale="it")
    client = pages.client()
    page = client.get("/login", headers={"Accept-Language": "lt, en;q=0.5"}).get_data(as_text=True)
    assert '<html lang="lt">' in page
    assert "Prisijungti" in page
    token = csrf_of(client.get("/login"))
    switched = client.post("/language", data={"csrf_token": token, "language": "en", "next": "/login"})
    assert switched.status_code == 302
    assert switched.headers["Location"] == "/login"
    assert '<html lang="en">' in client.get("/login", headers={"Accept-Language": "lt"}).get_data(as_text=True)
    pages.sign_in(client, "aino@example.org")
    assert '<html lang="it">' in client.get("/account").get_data(as_text=True)
    token = csrf_of(client.get("/account"))
    client.post("/language", data={"csrf_token": token, "language": "lt", "next": "/account"})
    person = pages.find("aino")[0]
    assert person.locale == "lt"
    assert "Jūsų paskyra" in client.get("/account").get_data(as_text=True)


def test_tracker_people_invite_prints_a_link_that_works(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    pages = make_pages(sqlite_url)
    try:
        person = pages.person("manager", "marta@example.org", password=None)
        monkeypatch.setenv("TRACKER_DATABASE_URL", sqlite_url)
        monkeypatch.setenv("TRACKER_BASE_URL", "https://tracker.example.org/")
        result = CliRunner().invoke(cli, ["people", "invite", str(person.id)])
        assert result.exit_code == 0, result.output
        link = re.search(r"https://tracker\.example\.org/invitations/(\S+)", result.stdout)
        assert link, result.stdout
        assert pages.client().get(f"/invitations/{link.group(1)}").status_code == 200
        unknown = CliRunner().invoke(cli, ["people", "invite", "00000000-0000-0000-0000-000000000000"])
        assert unknown.exit_code == 2
    finally:
        pages.services.close()


def test_the_pages_session_reads_the_api_but_never_writes_through_it(pages: Pages) -> None:
    pages.person("provider", "paulius@example.org", organisation=pages.world.owner)
    client = pages.client()
    assert client.get("/api/v1/me").status_code == 401
    pages.sign_in(client, "paulius@example.org")
    me = client.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json["role"] == "provider"
    assert me.headers["Cache-Control"] == "no-store"
    body = {"title": "Through the session", "summary": "x", "themes": ["a"]}
    assert client.post("/api/v1/innovations", json=body).status_code == 401
    assert "Through the session" not in client.get("/api/v1/innovations").get_data(as_text=True)


def test_the_apis_problem_titles_follow_the_readers_language(pages: Pages) -> None:
    english = pages.client().get("/api/v1/innovations")
    assert english.json["title"] == "Unauthorized"
    lithuanian = pages.client().get("/api/v1/innovations", headers={"Accept-Language": "lt"})
    assert lithuanian.status_code == 401
    assert lithuanian.json["title"] == "Neautentifikuota"
    assert lithuanian.json["detail"] == english.json["detail"], "the detail stays in English"
    italian = pages.client().get("/api/v1/nothing-here", headers={"Accept-Language": "it-IT, en;q=0.5"})
    assert italian.status_code == 404
    assert italian.json["title"] == "Non trovato"


def test_every_process_of_one_tracker_signs_sessions_alike(sql_url: str) -> None:
    """Without TRACKER_SECRET_KEY, the secret made at first start is kept in the database: a session made by one
    process (a gunicorn worker) is good in another."""
    first = make_pages(sql_url)
    second = create_app(Settings(database_url=sql_url))
    try:
        first.person("analyst", "aino@example.org")
        client = first.client()
        assert first.sign_in(client, "aino@example.org").status_code == 302
        cookie = client.get_cookie("tracker_session")
        assert cookie is not None
        other = second.test_client()
        assert other.get("/account").status_code == 302
        other.set_cookie("tracker_session", cookie.value)
        assert other.get("/account").status_code == 200
    finally:
        first.services.close()
        second.extensions["tracker"].close()


def test_a_person_chooses_the_e_mails_their_role_is_sent(pages: Pages) -> None:
    evaluator = pages.person("evaluator", "eva@example.org", organisation=pages.world.eval_org_a)
    pages.person("analyst", "aino@example.org")
    client = pages.client()
    pages.sign_in(client, "eva@example.org")
    page = client.get("/account")
    text = page.get_data(as_text=True)
    assert "an innovation is assigned to me for assessment" in text
    assert "a webhook endpoint is disabled" not in text  # not a kind an evaluator is sent
    assert re.search(r'<input checked id="evaluator_assigned"[^>]*type="checkbox"', text)
    saved = client.post("/account/emails", data={"csrf_token": csrf_of(page)})  # the box left unticked
    assert saved.status_code == 302
    assert pages.services.outbox.preferences.of(evaluator.id)["evaluator_assigned"] is False
    after = client.get("/account").get_data(as_text=True)
    assert "Your e-mail choices are saved." in after
    assert not re.search(r"<input checked id=\"evaluator_assigned\"", after)
    forged = client.post("/account/emails", data={"evaluator_assigned": "y"})
    assert forged.status_code == 400
    assert pages.services.outbox.preferences.of(evaluator.id)["evaluator_assigned"] is False
    # An analyst is sent no e-mail: nothing to choose.
    other = pages.client()
    pages.sign_in(other, "aino@example.org")
    assert "Send me an e-mail when" not in other.get("/account").get_data(as_text=True)
