"""The admin's people pages over Flask's test client: inviting (the link shown once works), refusals that keep what
was typed, role changes, deactivation (keys and sessions stop), erasure, and keys made and revoked."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.pages.conftest import PASSWORD, Pages, csrf_of
from tracker import limits


@pytest.fixture
def admin(pages: Pages) -> FlaskClient:
    pages.person("admin", "ada@example.org", name="Ada Adams")
    client = pages.client()
    assert pages.sign_in(client, "ada@example.org").status_code == 302
    return client


def invite(client: FlaskClient, **fields: Any) -> Any:
    token = csrf_of(client.get("/admin/people"))
    data = {"name": "Eva Dubois", "email": "eva@example.org", "role": "evaluator", "locale": "lt"} | fields
    return client.post("/admin/people", data={"csrf_token": token, **{k: str(v) for k, v in data.items()}})


def test_an_invitation_made_on_the_page_sets_a_password(pages: Pages, admin: FlaskClient) -> None:
    answer = invite(admin, organisation=pages.world.eval_org_a)
    assert answer.status_code == 200
    link = re.search(r'value="(http://127\.0\.0\.1:8000/invitations/[^"]+)"', answer.get_data(as_text=True))
    assert link
    path = link.group(1).removeprefix("http://127.0.0.1:8000")
    invitee = pages.client()
    token = csrf_of(invitee.get(path))
    assert invitee.post(path, data={"csrf_token": token, "password": PASSWORD, "confirm": PASSWORD}).status_code == 302
    assert "Eva Dubois" in admin.get("/admin/people").get_data(as_text=True)
    page = invitee.get("/")
    assert '<html lang="lt">' in page.get_data(as_text=True)


def test_refused_invitations_keep_what_was_typed(pages: Pages, admin: FlaskClient) -> None:
    missing = invite(admin)  # an evaluator without an organisation
    assert missing.status_code == 422
    html = missing.get_data(as_text=True)
    assert "Providers and evaluators belong to an organisation" in html
    assert 'value="Eva Dubois"' in html
    invite(admin, organisation=pages.world.eval_org_a)
    again = invite(admin, organisation=pages.world.eval_org_a, email="EVA@example.org", name="Another Eva")
    assert again.status_code == 422
    assert "exists already" in again.get_data(as_text=True)
    assert len(pages.find("eva")) == 1


def test_deactivating_stops_keys_and_sessions_and_erasing_needs_the_box_ticked(
    pages: Pages, admin: FlaskClient
) -> None:
    analyst = pages.person("analyst", "aino@example.org", name="Aino Laine")
    session = pages.client()
    pages.sign_in(session, "aino@example.org")
    page = admin.get(f"/admin/people/{analyst.id}")
    odd = admin.post(f"/admin/people/{analyst.id}/keys", data={"csrf_token": csrf_of(page), "key_name": "script ąčę"})
    assert odd.status_code == 422
    assert "Use up to 100 letters a-z, digits or . _ @ -" in odd.get_data(as_text=True)
    made = admin.post(f"/admin/people/{analyst.id}/keys", data={"csrf_token": csrf_of(page), "key_name": "notebook"})
    assert made.status_code == 201
    key = re.search(r'id="new-key" type="text" readonly value="([^"]+)"', made.get_data(as_text=True)).group(1)
    api = pages.client()
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert key not in admin.get(f"/admin/people/{analyst.id}").get_data(as_text=True), "the key is shown again"
    again = admin.post(f"/admin/people/{analyst.id}/keys", data={"csrf_token": csrf_of(page), "key_name": "notebook"})
    assert again.status_code == 422
    assert "This person has an active key with this name: revoke it first" in again.get_data(as_text=True)

    off = admin.post(f"/admin/people/{analyst.id}/active", data={"csrf_token": csrf_of(page), "active": "0"})
    assert off.status_code == 302
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    assert session.get("/account").status_code == 302

    unticked = admin.post(f"/admin/people/{analyst.id}/erase", data={"csrf_token": csrf_of(page)})
    assert unticked.status_code == 422
    assert pages.services.people.get(analyst.id).name == "Aino Laine"
    erased = admin.post(f"/admin/people/{analyst.id}/erase", data={"csrf_token": csrf_of(page), "confirm": "y"})
    assert erased.status_code == 302
    after = pages.services.people.get(analyst.id)
    assert after.name is None
    assert after.email is None
    assert "Aino" not in admin.get(f"/admin/people/{analyst.id}").get_data(as_text=True)


def test_changing_a_role_and_revoking_a_key(pages: Pages, admin: FlaskClient) -> None:
    person = pages.person("analyst", "aino@example.org", name="Aino Laine")
    page = admin.get(f"/admin/people/{person.id}")
    changed = admin.post(
        f"/admin/people/{person.id}/role", data={"csrf_token": csrf_of(page), "role": "manager", "organisation": ""}
    )
    assert changed.status_code == 302
    assert pages.services.people.get(person.id).role == "manager"
    token, info = pages.services.keys.create_for(person_id=person.id, name="script")
    revoked = admin.post(f"/admin/people/{person.id}/keys/{info.id}/revoke", data={"csrf_token": csrf_of(page)})
    assert revoked.status_code == 302
    assert pages.client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_without_the_csrf_token_or_the_role_nothing_changes(pages: Pages, admin: FlaskClient) -> None:
    person = pages.person("analyst", "aino@example.org", name="Aino Laine")
    assert admin.post(f"/admin/people/{person.id}/active", data={"active": "0"}).status_code == 400
    assert pages.services.people.get(person.id).active
    other = pages.client()
    pages.sign_in(other, "aino@example.org")
    assert other.get("/admin/people").status_code == 403
    assert other.get(f"/admin/people/{person.id}").status_code == 403


def test_correcting_a_persons_details(pages: Pages, admin: FlaskClient) -> None:
    person = pages.person("analyst", "aino@example.org", name="Aino Laine")
    pages.person("analyst", "taken@example.org", name="Taken")
    page = admin.get(f"/admin/people/{person.id}")
    data = {"csrf_token": csrf_of(page), "name": "Aino Laine-Virtanen", "email": "aino.lv@example.org", "locale": "it"}
    assert admin.post(f"/admin/people/{person.id}/details", data=data).status_code == 302
    changed = pages.services.people.get(person.id)
    assert (changed.name, changed.email, changed.locale) == ("Aino Laine-Virtanen", "aino.lv@example.org", "it")
    taken = admin.post(f"/admin/people/{person.id}/details", data=data | {"email": "TAKEN@example.org"})
    assert taken.status_code == 422
    assert "exists already" in taken.get_data(as_text=True)
    assert pages.services.people.get(person.id).email == "aino.lv@example.org"


def test_the_forms_own_checks_read_in_the_admins_language(pages: Pages) -> None:
    """WTForms' own messages (here: a name too long) in Lithuanian, not English."""
    pages.person("admin", "ausra@example.org", locale="lt")
    client = pages.client()
    pages.sign_in(client, "ausra@example.org")
    token = csrf_of(client.get("/admin/people"))
    form = {"csrf_token": token, "name": "x" * 5000, "email": "b@example.org", "role": "admin", "locale": "lt"}
    said = client.post("/admin/people", data=form).get_data(as_text=True)
    assert f"Ne daugiau kaip {limits.NAME_MAX} simbolių." in said
    assert "Field cannot be longer" not in said
