"""Signing in to the tracker's pages: passwords hashed with argon2, and single-use invitations to set one.

An admin invites a person; the invitation is a link holding a random token, kept only as its SHA-256, that works
once and lapses after INVITATION_DAYS. Opening it, the person sets a password of at least PASSWORD_MIN characters.
Signing in names the person by address; a wrong address and a wrong password get the same answer and take about
the same time. Every password set and every invitation is recorded in `person_changes` (never the secret)."""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, delete, select, update

from access.people import PeopleStore, Person, person_of
from access.tables import invitations, passwords, people, person_changes
from projections.clock import utc_now
from tracker.errors import DomainError, ValidationError

INVITATION_DAYS = 7
PASSWORD_MIN = 12
PASSWORD_MAX = 1024


class InvitationError(DomainError):
    """The invitation is unknown, used, lapsed, or its person can no longer sign in: all give the same answer."""

    rule = "invitation.invalid"


class PersonCannotSignInError(DomainError):
    rule = "person.cannot_sign_in"


@dataclass(frozen=True)
class Invitation:
    token: str
    person: Person
    expires_at: datetime


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_password(password: str) -> None:
    if not isinstance(password, str) or len(password) < PASSWORD_MIN:
        raise ValidationError("password", f"must be at least {PASSWORD_MIN} characters", rule="password.too_short")
    if len(password) > PASSWORD_MAX:
        raise ValidationError("password", f"must be at most {PASSWORD_MAX} characters", rule="password.too_long")


class SignIn:
    """Passwords and invitations. Writes go through `writer` (on SQLite, the read model's writer)."""

    def __init__(
        self,
        people_store: PeopleStore,
        hasher: PasswordHasher | None = None,
        *,
        on_invite: Callable[[Connection, Invitation], None] | None = None,
    ) -> None:
        self.people = people_store
        # Called in the invitation's own transaction (the outbox queues its e-mail there, so neither goes alone).
        self.on_invite = on_invite
        self.engine: Engine = people_store.engine
        self.writer: Engine = people_store.writer
        self.hasher = hasher or PasswordHasher()

    @functools.cached_property
    def _decoy(self) -> str:
        """Verified against when the address is unknown, so that the answer takes as long as for a known one (made at
        the first sign-in, not when a process starts: a hash costs about a tenth of a second)."""
        return self.hasher.hash(secrets.token_urlsafe(16))

    # ---- invitations --------------------------------------------------------------------------------------------

    def invite(self, person_id: UUID, *, actor_id: str, now: datetime | None = None) -> Invitation:
        """A new invitation for the person; any earlier one they have not used stops working."""
        now = now or utc_now()
        token = secrets.token_urlsafe(32)
        expires_at = now + timedelta(days=INVITATION_DAYS)
        with self.writer.begin() as tx:
            person = self.people.require(person_id, tx)
            if not person.active or person.erased or not person.email:
                raise PersonCannotSignInError(
                    "only an active person with an e-mail address can be invited", rule="invitation.person"
                )
            tx.execute(delete(invitations).where(invitations.c.person_id == person_id, invitations.c.used_at.is_(None)))
            tx.execute(
                invitations.insert().values(
                    token_hash=_token_hash(token),
                    person_id=person_id,
                    created_at=now,
                    created_by=actor_id,
                    expires_at=expires_at,
                    used_at=None,
                )
            )
            self._record(tx, person_id, actor_id, "invited", now)
            invitation = Invitation(token, person, expires_at)
            if self.on_invite is not None:
                self.on_invite(tx, invitation)
        return invitation

    def invited(self, token: str, conn: Connection | None = None) -> Person:
        """The person an invitation is for, while it can still be used; InvitationError otherwise."""
        if conn is None:
            with self.engine.connect() as own:
                return self.invited(token, own)
        row = conn.execute(
            select(invitations.c.person_id, invitations.c.expires_at, invitations.c.used_at).where(
                invitations.c.token_hash == _token_hash(token)
            )
        ).first()
        if row is None or row.used_at is not None or row.expires_at <= utc_now():
            raise InvitationError("this invitation is unknown, used or expired")
        person = self.people.get(row.person_id, conn)
        if person is None or not person.active or person.erased:
            raise InvitationError("this invitation is unknown, used or expired")
        return person

    def accept(self, token: str, password: str) -> Person:
        """Use the invitation: set the person's password. Works once."""
        check_password(password)
        digest = self.hasher.hash(password)
        now = utc_now()
        with self.writer.begin() as tx:
            person = self.invited(token, tx)
            used = tx.execute(
                update(invitations)
                .where(invitations.c.token_hash == _token_hash(token), invitations.c.used_at.is_(None))
                .values(used_at=now)
            )
            if used.rowcount != 1:  # pragma: no cover - another request used it between the check and here
                raise InvitationError("this invitation is unknown, used or expired")
            self._store(tx, person.id, digest, now, actor_id=str(person.id))
        return person

    # ---- passwords ------------------------------------------------------------------------------------------------

    def authenticate(self, email: str, password: str) -> Person | None:
        """The active person with this address and password, or None; as slow for an unknown address."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(people.c.id, passwords.c.hash)
                .join(passwords, passwords.c.person_id == people.c.id)
                .where(people.c.email_key == email.strip().lower(), people.c.active.is_(True))
            ).first()
        if row is None:
            self._verify(self._decoy, password)
            return None
        if not self._verify(row.hash, password):
            return None
        if self.hasher.check_needs_rehash(row.hash):
            rehashed = self.hasher.hash(password)
            with self.writer.begin() as tx:
                tx.execute(update(passwords).where(passwords.c.person_id == row.id).values(hash=rehashed))
        return self.people.get(row.id)

    def change_password(self, person_id: UUID, current: str, new: str) -> None:
        """Set a new password, given the current one."""
        check_password(new)
        with self.engine.connect() as conn:
            stored = conn.scalar(select(passwords.c.hash).where(passwords.c.person_id == person_id))
        if stored is None or not self._verify(stored, current):
            raise ValidationError("current_password", "is not your password", rule="password.wrong")
        with self.writer.begin() as tx:
            self._store(tx, person_id, self.hasher.hash(new), utc_now(), actor_id=str(person_id))

    def set_password(self, person_id: UUID, password: str, *, actor_id: str) -> None:
        """Set a person's password without the current one (the demo's people; an operator's recovery)."""
        check_password(password)
        digest = self.hasher.hash(password)
        with self.writer.begin() as tx:
            person = self.people.require(person_id, tx)
            if not person.active or person.erased:
                raise PersonCannotSignInError("only an active person can have a password")
            self._store(tx, person_id, digest, utc_now(), actor_id=actor_id)

    def stamp(self, person_id: UUID, conn: Connection | None = None) -> str | None:
        """A short fingerprint of the person's password hash and of how many times they signed out: a session made
        before the password changed, or before they signed out, no longer matches it. None where the person has no
        password."""
        query = select(passwords.c.hash, passwords.c.sign_outs).where(passwords.c.person_id == person_id)
        if conn is None:
            with self.engine.connect() as own:
                row = own.execute(query).first()
        else:
            row = conn.execute(query).first()
        return _stamp_of(row.hash, row.sign_outs) if row is not None else None

    def session_person(self, person_id: UUID) -> tuple[Person, str] | None:
        """The person a session names, with their stamp, in one query (each page asks): None where there is no such
        person or they have no password."""
        query = select(people, passwords.c.hash, passwords.c.sign_outs).join(
            passwords, passwords.c.person_id == people.c.id
        )
        with self.engine.connect() as conn:
            row = conn.execute(query.where(people.c.id == person_id)).mappings().first()
        return (person_of(row), _stamp_of(row["hash"], row["sign_outs"])) if row is not None else None

    def sign_out(self, person_id: UUID) -> None:
        """End every session of the person: the stamp their sessions carry no longer matches. (A session is a signed
        cookie the browser keeps; a copy of it, kept elsewhere, would otherwise go on working.)"""
        with self.writer.begin() as tx:
            tx.execute(
                update(passwords).where(passwords.c.person_id == person_id).values(sign_outs=passwords.c.sign_outs + 1)
            )

    @staticmethod
    def stamps_match(a: str | None, b: str | None) -> bool:
        return a is not None and b is not None and hmac.compare_digest(a, b)

    def _verify(self, stored: str, password: str) -> bool:
        try:
            return self.hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    def _store(self, tx: Connection, person_id: UUID, digest: str, now: datetime, *, actor_id: str) -> None:
        tx.execute(delete(passwords).where(passwords.c.person_id == person_id))
        tx.execute(passwords.insert().values(person_id=person_id, hash=digest, set_at=now))
        tx.execute(
            person_changes.insert().values(
                person_id=person_id, at=now, actor_id=actor_id, change="updated", fields={"password": "changed"}
            )
        )

    def _record(self, tx: Connection, person_id: UUID, actor_id: str, change: str, now: datetime) -> None:
        tx.execute(
            person_changes.insert().values(person_id=person_id, at=now, actor_id=actor_id, change=change, fields={})
        )


def _stamp_of(stored_hash: str, sign_outs: int) -> str:
    # Before a first sign-out the stamp is the hash's alone, as it was before sign-outs were counted: an upgrade
    # signs nobody out.
    text = stored_hash if not sign_outs else f"{stored_hash}\n{sign_outs}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]
