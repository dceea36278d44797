"""The admin's pages for webhooks and e-mail, over Flask's test client: an endpoint added (its secret shown once),
refused addresses, its delivery log, turning it off and on, a new secret, sending again, replay and deletion; the
e-mails in the outbox; and nobody else may see them."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from bench.receiver import Receiver, webhook_receiver
from tests.pages.conftest import Pages, csrf_of, make_pages


@pytest.fixture
def hooks(sqlite_url: str) -> Iterator[Pages]:
    made = make_pages(sqlite_url, inline_outbox=False, webhooks_allow_private=True)
    yield made
    made.services.close()


@pytest.fixture
def admin(hooks: Pages) -> FlaskClient:
    hooks.person("admin", "ada@example.org", name="Ada Adams")
    client = hooks.client()
    assert hooks.sign_in(client, "ada@example.org").status_code == 302
    return client


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as found:
        yield found


def add(admin: FlaskClient, url: str, *types: str) -> tuple[int, str]:
    page = admin.get("/admin/webhooks")
    answer = admin.post(
        "/admin/webhooks", data={"csrf_token": csrf_of(page), "url": url, "event_types": list(types or ("*",))}
    )
    return answer.status_code, answer.get_data(as_text=True)


def test_an_endpoint_is_added_and_its_secret_shown_once(hooks: Pages, admin: FlaskClient, receiver: Receiver) -> None:
    status, page = add(admin, receiver.url, "innovation.submitted", "innovation.advanced")
    assert status == 201
    secret = re.search(r'id="secret" type="text" readonly value="(whsec_[^"]+)"', page).group(1)
    (endpoint,) = hooks.services.outbox.endpoints.list()
    assert endpoint.secret == secret
    assert endpoint.event_types == ["innovation.advanced", "innovation.submitted"]
    listing = admin.get("/admin/webhooks").get_data(as_text=True)
    assert receiver.url in listing
    assert secret not in listing
    assert secret not in admin.get(f"/admin/webhooks/{endpoint.id}").get_data(as_text=True)


def test_refused_addresses_say_why_and_add_nothing(hooks: Pages, admin: FlaskClient) -> None:
    hooks.services.outbox.endpoints.allow_private = False
    for url in ("http://example.org/hook", "https://127.0.0.1/hook", "https://169.254.169.254/"):
        status, page = add(admin, url)
        assert status == 422, url
        assert "https URL whose host is a public address" in page
    status, page = add(admin, "")
    assert status == 422
    assert "Give the address the events are sent to." in page
    assert hooks.services.outbox.endpoints.list() == []


def test_the_delivery_log_and_what_an_admin_does_with_it(hooks: Pages, admin: FlaskClient, receiver: Receiver) -> None:
    add(admin, receiver.url, "innovation.submitted")
    (endpoint,) = hooks.services.outbox.endpoints.list()
    hooks.world.submit(title="Logged innovation")
    outbox = hooks.services.outbox
    outbox.run_once()
    page = admin.get(f"/admin/webhooks/{endpoint.id}")
    text = page.get_data(as_text=True)
    assert "innovation.submitted" in text
    assert "delivered" in text
    assert ": 200 (" in text
    token = csrf_of(page)
    (delivery,) = outbox.endpoints.deliveries(endpoint.id)["items"]
    again = admin.post(
        f"/admin/webhooks/{endpoint.id}/deliveries/{delivery['delivery_id']}/redeliver", data={"csrf_token": token}
    )
    assert again.status_code == 302
    outbox.run_once()
    assert receiver.ids() == [str(delivery["event_id"])] * 2
    off = admin.post(f"/admin/webhooks/{endpoint.id}/active", data={"csrf_token": token})
    assert off.status_code == 302
    assert outbox.endpoints.require(endpoint.id).active is False
    on = admin.post(f"/admin/webhooks/{endpoint.id}/active", data={"csrf_token": token})
    assert on.status_code == 302
    assert outbox.endpoints.require(endpoint.id).active is True
    replayed = admin.post(f"/admin/webhooks/{endpoint.id}/replay", data={"csrf_token": token, "after": "0"})
    assert replayed.status_code == 302
    assert "1 event goes again." in admin.get(replayed.headers["Location"]).get_data(as_text=True)
    outbox.run_once()
    assert receiver.ids().count(str(delivery["event_id"])) == 3
    bad = admin.post(f"/admin/webhooks/{endpoint.id}/replay", data={"csrf_token": token, "after": "-1"})
    assert bad.status_code == 422
    rotated = admin.post(f"/admin/webhooks/{endpoint.id}/rotate", data={"csrf_token": token})
    assert rotated.status_code == 200
    assert outbox.endpoints.require(endpoint.id).secret in rotated.get_data(as_text=True)
    assert admin.post(f"/admin/webhooks/{endpoint.id}/active", data={}).status_code == 400
    for unticked_value in ({}, {"confirm": "false"}):
        refused = admin.post(f"/admin/webhooks/{endpoint.id}/delete", data={"csrf_token": token, **unticked_value})
        assert refused.status_code == 422, unticked_value
    unticked = admin.post(f"/admin/webhooks/{endpoint.id}/delete", data={"csrf_token": token})
    assert unticked.status_code == 422
    assert "Tick the box to delete this endpoint." in unticked.get_data(as_text=True)
    assert [e.id for e in outbox.endpoints.list()] == [endpoint.id]
    gone = admin.post(f"/admin/webhooks/{endpoint.id}/delete", data={"csrf_token": token, "confirm": "y"})
    assert gone.status_code == 302
    assert outbox.endpoints.list() == []
    assert admin.get(f"/admin/webhooks/{endpoint.id}").status_code == 404


def test_the_emails_in_the_outbox_are_listed_for_admins(hooks: Pages, admin: FlaskClient) -> None:
    eva = hooks.person("evaluator", "eva@example.org", organisation=hooks.world.eval_org_a, name="Eva Ek")
    iid = hooks.world.submit(title="Mailed innovation")
    hooks.services.app.assign_evaluator(
        iid, actor=hooks.world.manager, evaluator_id=str(eva.id), evaluator_organisation_id=hooks.world.eval_org_a
    )
    hooks.services.outbox.run_once()
    text = admin.get("/admin/emails").get_data(as_text=True)
    assert "No SMTP server is configured" in text
    assert "Eva Ek" in text
    assert "evaluator assigned" in text
    assert "waiting" in text


def test_nobody_else_sees_them(hooks: Pages) -> None:
    hooks.person("manager", "mia@example.org")
    client = hooks.client()
    hooks.sign_in(client, "mia@example.org")
    for path in ("/admin/webhooks", "/admin/emails"):
        assert client.get(path).status_code == 403
