"""E-mail to people through a real SMTP server (aiosmtpd): an evaluator assigned, a gate decision to the owning
organisation's providers, an invitation and an endpoint disabled; in the person's language, plain text and HTML, each
with a link to act on; a person can turn each kind off; without SMTP the messages wait in the outbox."""

from __future__ import annotations

import re
import smtplib
import socket
import time
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from access.tables import people
from cli.main import main
from outbox.mail import Mailer, Message, SMTPConfig
from outbox.service import Outbox
from tests.api.conftest import Env, make_env, submit
from tests.receivers import Mailbox, smtp_server, webhook_receiver


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with smtp_server() as box:
        yield box


def _mail_env(url: str, mailbox: Mailbox) -> Env:
    return make_env(
        url,
        inline_outbox=False,
        webhooks_allow_private=True,
        smtp_url=mailbox.url,
        smtp_from="Tracker <tracker@example.org>",
        base_url="https://tracker.example.org",
    )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def mail_env(request: pytest.FixtureRequest, mailbox: Mailbox) -> Iterator[Env]:
    """On both stores: who is written to is derived in SQL."""
    environment = _mail_env(request.getfixturevalue(f"{request.param}_url"), mailbox)
    yield environment
    environment.app.extensions["tracker"].close()


@pytest.fixture
def sqlite_mail(sqlite_url: str, mailbox: Mailbox) -> Iterator[Env]:
    """What is written, and the choices, on SQLite alone."""
    environment = _mail_env(sqlite_url, mailbox)
    yield environment
    environment.app.extensions["tracker"].close()


def outbox_of(env: Env) -> Outbox:
    return env.app.extensions["tracker"].outbox  # type: ignore[no-any-return]


def parts(message: Any) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html


def person(env: Env, role: str, email: str, locale: str = "en", organisation: Any = None) -> Any:
    return env.app.extensions["tracker"].people.create(
        actor_id="admin", name=f"{role} {email}", email=email, role=role, organisation_id=organisation, locale=locale
    )


def hold(env: Env, innovation_id: str, rationale: str) -> None:
    """The manager puts the innovation on hold (a gate decision, with its ETag)."""
    path = f"/api/v1/innovations/{innovation_id}"
    etag = env.get(path, env.keys.manager).headers["ETag"]
    decided = env.post(
        f"{path}/decisions",
        env.keys.manager,
        json={"decision": "hold", "rationale": rationale},
        headers={"If-Match": etag},
    )
    assert decided.status_code == 200, decided.json


def test_an_assigned_evaluator_is_written_to_in_their_language(mail_env: Env, mailbox: Mailbox) -> None:
    env = mail_env
    vaida = person(env, "evaluator", "vaida@example.org", "lt", env.world.eval_org_b)
    created = submit(env, title="Mentorystė pameistriams")
    assigned = env.post(
        f"/api/v1/innovations/{created['id']}/assignments",
        env.keys.manager,
        json={"evaluator_id": str(vaida.id), "due_on": "2027-01-15"},
    )
    assert assigned.status_code == 201
    outbox_of(env).run_once()
    (message,) = [m for m in mailbox.messages if m["To"] == "vaida@example.org"]
    assert message["From"] == "Tracker <tracker@example.org>"
    assert "Mentorystė pameistriams" in message["Subject"]
    text, html = parts(message)
    link = f"https://tracker.example.org/assess/{created['id']}"
    assert link in text
    assert f'href="{link}"' in html
    assert "Sveiki" in text  # Lithuanian
    assert "2027" in text
    assert ".." not in text  # a Lithuanian long date ends with "d.", and no sentence's full stop follows it
    assert '<html lang="lt">' in html


def test_a_gate_decision_goes_to_the_owning_organisations_providers(mail_env: Env, mailbox: Mailbox) -> None:
    env = mail_env
    owner = person(env, "provider", "owner@example.org", "it", env.world.owner)
    other = person(env, "provider", "other@example.org", "en", env.world.eval_org_c)
    created = submit(env, title="Badge aperti")
    hold(env, created["id"], "Aspettiamo i dati.")
    outbox_of(env).run_once()
    to = [m["To"] for m in mailbox.messages]
    assert "owner@example.org" in to
    assert "other@example.org" not in to
    (message,) = [m for m in mailbox.messages if m["To"] == "owner@example.org"]
    text, _html = parts(message)
    assert "Aspettiamo i dati." in text
    with outbox_of(env).reader.connect() as conn:
        kept = [str(c) for (c,) in conn.exec_driver_sql("SELECT context FROM outbox_emails")]
    assert not any("Aspettiamo" in c for c in kept), "the decision's reasons were copied out of the log"
    assert f"https://tracker.example.org/innovations/{created['id']}" in text
    assert "Salve" in text or "Buongiorno" in text
    del owner, other


def test_decisions_on_several_organisations_innovations_in_one_round_each_go_to_their_own_providers(
    mail_env: Env, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One round derives them all: each decision's e-mail goes to its own owner's providers, and each innovation's
    owner is looked up once, however many of its decisions the outbox meets."""
    env = mail_env
    person(env, "provider", "owner@example.org", "en", env.world.owner)
    person(env, "provider", "third@example.org", "en", env.world.eval_org_c)
    services = env.app.extensions["tracker"]
    third = services.keys.create(name="third-provider", role="provider", organisation_id=env.world.eval_org_c)[0]
    ours = submit(env, title="Peer mentoring")
    theirs = env.post(
        "/api/v1/innovations", third, json={"title": "Green welding", "summary": "Less fume", "themes": ["green"]}
    )
    assert theirs.status_code == 201, theirs.json
    for innovation, decisions in ((ours, ("hold", "resume")), (theirs.json, ("hold",))):
        for decision in decisions:
            etag = env.get(f"/api/v1/innovations/{innovation['id']}", env.keys.manager).headers["ETag"]
            decided = env.post(
                f"/api/v1/innovations/{innovation['id']}/decisions",
                env.keys.manager,
                json={"decision": decision, "rationale": "Reviewed."},
                headers={"If-Match": etag},
            )
            assert decided.status_code == 200, decided.json
    outbox = outbox_of(env)
    looked_up: list[UUID] = []
    owner_of = outbox.derivation.app.owner_of

    def counted(innovation_id: UUID) -> UUID:
        looked_up.append(innovation_id)
        return owner_of(innovation_id)

    monkeypatch.setattr(outbox.derivation.app, "owner_of", counted)
    outbox.run_once()
    subjects: dict[str, list[str]] = {}
    for message in mailbox.messages:
        subjects.setdefault(message["To"], []).append(str(message["Subject"]))
    assert len(subjects["owner@example.org"]) == 2
    assert all("Peer mentoring" in s for s in subjects["owner@example.org"])
    assert len(subjects["third@example.org"]) == 1
    assert "Green welding" in subjects["third@example.org"][0]
    assert sorted(looked_up, key=str) == sorted([UUID(ours["id"]), UUID(theirs.json["id"])], key=str)


def test_a_round_that_reaches_the_head_of_the_log_ends_in_one_transaction(
    mail_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch that was not full read everything up to the head: the round ends there instead of opening another
    transaction to find nothing. A full batch is followed by another."""
    env = mail_env
    for n in range(3):
        submit(env, title=f"Innovation {n}")
    derivation = outbox_of(env).derivation
    batches: list[tuple[int, bool]] = []
    derive_batch = derivation.derive_batch

    def counted(*args: Any, **kwargs: Any) -> tuple[int, bool]:
        batches.append(derive_batch(*args, **kwargs))
        return batches[-1]

    monkeypatch.setattr(derivation, "derive_batch", counted)
    assert derivation.catch_up() > 0
    assert len(batches) == 1
    assert not batches[0][1]
    # Every event type wanted (an endpoint taking them all), in batches of two: full batches, then one that is not.
    endpoint = env.post(
        "/api/v1/webhooks", env.keys.admin, json={"url": "http://127.0.0.1:9/hook", "event_types": ["*"]}
    )
    assert endpoint.status_code == 201, endpoint.json
    for n in range(5):
        submit(env, title=f"More {n}")
    batches.clear()
    monkeypatch.setattr(derivation, "batch_size", 2)
    assert derivation.catch_up() > 0
    assert [full for _, full in batches] == [True] * (len(batches) - 1) + [False]
    assert len(batches) >= 3
    assert derivation.catch_up() == 0


def test_an_e_mail_that_waited_goes_only_to_whom_it_is_still_for(sqlite_mail: Env, mailbox: Mailbox) -> None:
    """Queued while it could not be sent; meanwhile the evaluator is unassigned and the provider moves to another
    organisation, and neither may see the confidential innovation any more: neither is written to, and the outbox
    says why. A provider who stays is written to."""
    env = sqlite_mail
    outbox = outbox_of(env)
    mover = person(env, "provider", "mover@example.org", "en", env.world.owner)
    stayer = person(env, "provider", "stayer@example.org", "en", env.world.owner)
    evaluator = person(env, "evaluator", "unassigned@example.org", "en", env.world.eval_org_b)
    created = submit(env, title="Confidential idea")
    path = f"/api/v1/innovations/{created['id']}"
    assert (
        env.post(f"{path}/assignments", env.keys.manager, json={"evaluator_id": str(evaluator.id)}).status_code == 201
    )
    outbox.derivation.catch_up()
    assert env.delete(f"{path}/assignments/{evaluator.id}", env.keys.manager).status_code in (200, 204)
    hold(env, created["id"], "Wait")
    outbox.derivation.catch_up()
    moved = env.patch(f"/api/v1/people/{mover.id}", env.keys.admin, json={"organisation_id": str(env.world.eval_org_c)})
    assert moved.status_code == 200, moved.json
    outbox.sender.dispatch(wait=True)
    assert [m["To"] for m in mailbox.messages] == ["stayer@example.org"]
    skipped = env.get("/api/v1/outbox/emails", env.keys.admin, query_string={"status": "skipped"}).json["items"]
    assert sorted(item["kind"] for item in skipped) == ["evaluator_assigned", "gate_decision"]
    assert all("no longer" in item["last_error"] for item in skipped)
    del stayer


def test_a_message_goes_to_its_one_address_with_a_one_line_subject(mailbox: Mailbox) -> None:
    """A subject made of a title with a line break (stored before titles were made one line) is sent on one line;
    the envelope names the address given, whatever a header parser would read in it."""
    mailer = Mailer(SMTPConfig.from_url(mailbox.url, sender="tracker@example.org"))
    mailer.send("eva@example.org", Message("Open\r\nbadges\u2028pilot", "text", "<p>html</p>"))
    (message,) = mailbox.messages
    assert message["Subject"] == "Open badges pilot"
    assert mailbox.recipients == [["eva@example.org"]]
    # An address stored before such addresses were refused: one envelope recipient (smtplib keeps the first address
    # of what it is given), never the two a header parser reads in it.
    mailer.send("eva@example.org, mallory@example.org", Message("Subject", "text", "<p>html</p>"))
    assert mailbox.recipients[-1] == ["eva@example.org"]


def test_a_send_to_a_server_that_answers_each_step_just_in_time_is_cut_at_twice_the_timeout() -> None:
    """Each answer within the timeout, the whole conversation far beyond twice it: the send fails (and is tried
    again later) rather than run on past its claim in the outbox, where another worker would send it again."""
    import asyncio

    from aiosmtpd.controller import Controller

    class Slow:
        """Each answer in 0.4 s, within the 0.5 s timeout; five of them (EHLO, MAIL, RCPT, DATA, QUIT) take 2 s."""

        async def handle_EHLO(self, _server: Any, session: Any, _envelope: Any, hostname: str, responses: Any) -> Any:
            await asyncio.sleep(0.4)
            session.host_name = hostname
            return responses

        async def handle_MAIL(self, _server: Any, _session: Any, envelope: Any, address: str, _options: Any) -> str:
            await asyncio.sleep(0.4)
            envelope.mail_from = address
            return "250 OK"

        async def handle_RCPT(self, _server: Any, _session: Any, envelope: Any, address: str, _options: Any) -> str:
            await asyncio.sleep(0.4)
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, _server: Any, _session: Any, _envelope: Any) -> str:
            await asyncio.sleep(0.4)
            return "250 OK"

        async def handle_QUIT(self, _server: Any, _session: Any, _envelope: Any) -> str:
            await asyncio.sleep(0.4)
            return "221 Bye"

    with socket.socket() as probe:  # the controller checks its server on the port it was given: a real one
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Slow(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        mailer = Mailer(SMTPConfig.from_url(f"smtp://127.0.0.1:{port}", sender="tracker@example.org"), timeout=0.5)
        started = time.monotonic()
        with pytest.raises(smtplib.SMTPServerDisconnected):
            mailer.send("eva@example.org", Message("Subject", "text", "<p>html</p>"))
        assert time.monotonic() - started < 1.5
    finally:
        controller.stop()


def test_an_address_stored_before_it_was_refused_is_not_written_to_and_does_not_stop_changes(
    sqlite_mail: Env, mailbox: Mailbox
) -> None:
    env = sqlite_mail
    services = env.app.extensions["tracker"]
    eva = person(env, "evaluator", "eva@example.org", "en", env.world.eval_org_b)
    legacy = "eva@example.org, mallory@example.org"
    with services.read_model.writer.begin() as tx:
        tx.execute(update(people).where(people.c.id == eva.id).values(email=legacy))
    # The admin's form sends the address with every change: an unchanged one is not checked again.
    renamed = services.people.update(eva.id, {"name": "Eva Dubois", "email": legacy}, actor_id="admin")
    assert renamed.name == "Eva Dubois"
    created = submit(env)
    env.post(f"/api/v1/innovations/{created['id']}/assignments", env.keys.manager, json={"evaluator_id": str(eva.id)})
    outbox_of(env).run_once()
    assert mailbox.messages == []
    skipped = env.get("/api/v1/outbox/emails", env.keys.admin, query_string={"status": "skipped"}).json["items"]
    assert [item["last_error"] for item in skipped] == ["the person's address is not one e-mail address"]


def test_a_refusal_that_quotes_the_address_is_kept_without_it(sqlite_mail: Env, mailbox: Mailbox) -> None:
    """What a mail server answered is kept to say why a message waits, but not the person's address it quotes: the
    outbox would keep it after the person is erased."""
    env = sqlite_mail
    eva = person(env, "evaluator", "Eva.Unknown@example.org", "en", env.world.eval_org_b)
    mailbox.refused.add("eva.unknown@example.org")
    created = submit(env)
    env.post(f"/api/v1/innovations/{created['id']}/assignments", env.keys.manager, json={"evaluator_id": str(eva.id)})
    outbox_of(env).run_once()
    assert mailbox.messages == []
    (waiting,) = env.get("/api/v1/outbox/emails", env.keys.admin, query_string={"status": "pending"}).json["items"]
    assert waiting["last_error"].startswith("SMTPRecipientsRefused"), waiting
    assert "550" in waiting["last_error"]
    assert "eva.unknown" not in waiting["last_error"].lower(), waiting


def test_a_person_can_turn_a_kind_off(sqlite_mail: Env, mailbox: Mailbox) -> None:
    env = sqlite_mail
    evaluator_key_person = UUID(env.person_id(env.keys.evaluator))
    services = env.app.extensions["tracker"]
    services.people.update(evaluator_key_person, {"email": "eva@example.org"}, actor_id="admin")
    choices = env.call("PUT", "/api/v1/me/email-preferences", env.keys.evaluator, json={"evaluator_assigned": False})
    assert choices.status_code == 200
    assert choices.json == {"evaluator_assigned": False}  # the one kind an evaluator is sent
    assert env.get("/api/v1/me/email-preferences", env.keys.evaluator).json == choices.json
    theirs = env.call("PUT", "/api/v1/me/email-preferences", env.keys.evaluator, json={"gate_decision": False})
    assert theirs.status_code == 422
    assert "the kinds it is sent: evaluator_assigned" in theirs.json["detail"]
    assert env.get("/api/v1/me/email-preferences", env.keys.analyst).json == {}
    created = submit(env)
    env.assign(created["id"], env.keys.evaluator)
    outbox_of(env).run_once()
    assert [m for m in mailbox.messages if m["To"] == "eva@example.org"] == []
    listed = env.get("/api/v1/outbox/emails", env.keys.admin, query_string={"status": "skipped"}).json["items"]
    assert [e["kind"] for e in listed] == ["evaluator_assigned"]
    refused = env.call("PUT", "/api/v1/me/email-preferences", env.keys.evaluator, json={"invitation": False})
    assert refused.status_code == 422


def test_an_invitation_is_e_mailed_with_its_link_and_the_token_is_not_kept(sqlite_mail: Env, mailbox: Mailbox) -> None:
    env = sqlite_mail
    services = env.app.extensions["tracker"]
    rasa = person(env, "analyst", "rasa@example.org", "lt")
    earlier = services.signin.invite(rasa.id, actor_id="admin")
    invitation = services.signin.invite(rasa.id, actor_id="admin")
    pending = env.get("/api/v1/outbox/emails", env.keys.admin, query_string={"status": "pending"}).json["items"]
    assert all("token" not in e["about"] for e in pending)
    outbox_of(env).run_once()
    (message,) = [m for m in mailbox.messages if m["To"] == "rasa@example.org"]
    text, html = parts(message)
    assert f"https://tracker.example.org/invitations/{invitation.token}" in text
    assert invitation.token in html
    assert earlier.token not in message.as_string()  # the earlier link no longer works: its e-mail is not sent
    with outbox_of(env).reader.connect() as conn:
        kept = conn.exec_driver_sql("SELECT context, status FROM outbox_emails WHERE kind = 'invitation'").all()
    assert sorted(status for _, status in kept) == ["sent", "skipped"]
    assert invitation.token not in str(kept)
    assert earlier.token not in str(kept)


def test_the_admins_are_told_when_an_endpoint_is_disabled(sqlite_mail: Env, mailbox: Mailbox) -> None:
    env = sqlite_mail
    person(env, "admin", "ada@example.org")
    with webhook_receiver() as receiver:
        receiver.default = (410, {}, 0.0)
        hook = env.post("/api/v1/webhooks", env.keys.admin, json={"url": receiver.url, "event_types": ["*"]}).json
        submit(env)
        outbox_of(env).run_once()
        outbox_of(env).run_once()
    (message,) = [m for m in mailbox.messages if m["To"] == "ada@example.org"]
    text, _html = parts(message)
    assert receiver.url in text
    assert "410" in text
    assert f"https://tracker.example.org/admin/webhooks/{hook['id']}" in text  # the admin's page of the endpoint


def test_without_smtp_messages_wait_in_the_outbox(env: Env) -> None:
    created = submit(env)
    env.assign(created["id"], env.keys.evaluator)
    outbox = outbox_of(env)
    outbox.run_once()
    waiting = env.get("/api/v1/outbox/emails", env.keys.admin).json
    assert waiting["smtp_configured"] is False
    assert [(e["kind"], e["status"]) for e in waiting["items"]] == [("evaluator_assigned", "pending")]
    status = env.get("/api/v1/outbox", env.keys.admin).json
    assert status["emails"]["pending"] == 1
    assert status["lag"] == 0
    url = env.app.extensions["tracker"].settings.database_url
    printed = CliRunner().invoke(main, ["outbox", "status"], env={"TRACKER_DATABASE_URL": url})
    assert printed.exit_code == 0, printed.output
    assert "oldest undelivered webhook: none" in printed.output
    assert re.search(r"oldest unsent e-mail: [0-9.]+ s", printed.output), printed.output
