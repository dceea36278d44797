"""Passwords and invitations (access.signin), on both stores."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from access.people import PeopleStore
from access.signin import INVITATION_DAYS, InvitationError, PersonCannotSignInError, SignIn
from access.tables import invitations, passwords, person_changes
from projections.clock import utc_now
from projections.engine import make_engine
from tracker.errors import ValidationError

PASSWORD = "correct horse battery staple"
# Cheap hashing for tests; the hashes still verify as argon2.
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def signin(sql_url: str) -> Iterator[SignIn]:
    engine = make_engine(sql_url, writer=True)
    yield SignIn(PeopleStore(engine), FAST)
    engine.dispose()


def person(signin: SignIn, email: str = "rasa@example.org", **fields: object):  # type: ignore[no-untyped-def]
    return signin.people.create(actor_id="admin", name="Rasa", email=email, role="analyst", **fields)


def test_an_invitation_sets_a_password_once(signin: SignIn) -> None:
    rasa = person(signin)
    invitation = signin.invite(rasa.id, actor_id="admin")
    assert signin.invited(invitation.token).id == rasa.id
    assert invitation.expires_at - utc_now() > timedelta(days=INVITATION_DAYS) - timedelta(minutes=1)
    signin.accept(invitation.token, PASSWORD)
    assert signin.authenticate("RASA@example.org ", PASSWORD) == signin.people.get(rasa.id)
    with pytest.raises(InvitationError):
        signin.accept(invitation.token, "another long password")
    assert signin.authenticate("rasa@example.org", "another long password") is None


def test_a_new_invitation_ends_the_unused_one(signin: SignIn) -> None:
    rasa = person(signin)
    first = signin.invite(rasa.id, actor_id="admin")
    second = signin.invite(rasa.id, actor_id="admin")
    with pytest.raises(InvitationError):
        signin.invited(first.token)
    assert signin.invited(second.token).id == rasa.id


def test_an_expired_invitation_is_refused(signin: SignIn) -> None:
    rasa = person(signin)
    lapsed = signin.invite(rasa.id, actor_id="admin", now=utc_now() - timedelta(days=INVITATION_DAYS, seconds=1))
    with pytest.raises(InvitationError):
        signin.accept(lapsed.token, PASSWORD)
    assert signin.authenticate("rasa@example.org", PASSWORD) is None


def test_an_invitation_of_a_deactivated_person_is_refused(signin: SignIn) -> None:
    rasa = person(signin)
    invitation = signin.invite(rasa.id, actor_id="admin")
    signin.people.update(rasa.id, {"active": False}, actor_id="admin")
    with pytest.raises(InvitationError):
        signin.accept(invitation.token, PASSWORD)
    with pytest.raises(PersonCannotSignInError):
        signin.invite(rasa.id, actor_id="admin")


def test_a_short_password_is_refused_and_the_invitation_stays_usable(signin: SignIn) -> None:
    rasa = person(signin)
    invitation = signin.invite(rasa.id, actor_id="admin")
    with pytest.raises(ValidationError) as refused:
        signin.accept(invitation.token, "eleven char")
    assert refused.value.rule == "password.too_short"
    signin.accept(invitation.token, "twelve chars")


def test_a_deactivated_person_cannot_sign_in(signin: SignIn) -> None:
    rasa = person(signin)
    signin.set_password(rasa.id, PASSWORD, actor_id="admin")
    assert signin.authenticate("rasa@example.org", PASSWORD) is not None
    signin.people.update(rasa.id, {"active": False}, actor_id="admin")
    assert signin.authenticate("rasa@example.org", PASSWORD) is None


def test_changing_the_password_needs_the_current_one_and_changes_the_stamp(signin: SignIn) -> None:
    rasa = person(signin)
    signin.set_password(rasa.id, PASSWORD, actor_id="admin")
    before = signin.stamp(rasa.id)
    with pytest.raises(ValidationError):
        signin.change_password(rasa.id, "not the password", "a brand new password")
    assert signin.stamp(rasa.id) == before
    signin.change_password(rasa.id, PASSWORD, "a brand new password")
    assert signin.stamp(rasa.id) != before
    assert signin.authenticate("rasa@example.org", PASSWORD) is None
    assert signin.authenticate("rasa@example.org", "a brand new password") is not None


def test_erasing_a_person_removes_their_password_and_invitations(signin: SignIn) -> None:
    rasa = person(signin)
    signin.set_password(rasa.id, PASSWORD, actor_id="admin")
    signin.invite(rasa.id, actor_id="admin")
    signin.people.erase(rasa.id, actor_id="admin")
    with signin.engine.connect() as conn:
        assert conn.execute(select(passwords).where(passwords.c.person_id == rasa.id)).first() is None
        assert conn.execute(select(invitations).where(invitations.c.person_id == rasa.id)).first() is None
    assert signin.stamp(rasa.id) is None


def test_the_change_log_records_passwords_and_invitations_but_no_secret(signin: SignIn) -> None:
    rasa = person(signin)
    invitation = signin.invite(rasa.id, actor_id="admin")
    signin.accept(invitation.token, PASSWORD)
    with signin.engine.connect() as conn:
        rows = conn.execute(
            select(person_changes.c.change, person_changes.c.fields, person_changes.c.actor_id)
            .where(person_changes.c.person_id == rasa.id)
            .order_by(person_changes.c.id)
        ).all()
    assert [(r.change, r.fields, r.actor_id) for r in rows] == [
        ("created", rows[0].fields, "admin"),
        ("invited", {}, "admin"),
        ("updated", {"password": "changed"}, str(rasa.id)),
    ]
    assert PASSWORD not in str(rows)
    assert invitation.token not in str(rows)


def test_stored_passwords_are_argon2_hashes(signin: SignIn) -> None:
    rasa = person(signin)
    signin.set_password(rasa.id, PASSWORD, actor_id="admin")
    with signin.engine.connect() as conn:
        stored = conn.scalar(select(passwords.c.hash).where(passwords.c.person_id == rasa.id))
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
