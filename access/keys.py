"""API keys: random secrets shown once, stored only as SHA-256 hashes, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import Connection, Engine, bindparam, select, update

from access.people import PeopleStore, Person
from access.tables import api_keys, key_metadata, people
from projections.clock import utc_now
from tracker.actors import Actor
from tracker.errors import ValidationError

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
PREFIX = "iet"

__all__ = ["KeyStore", "Principal", "key_metadata"]

# A key counts only while it is not revoked and its person is active: both are read with every request.
_BY_ID = (
    select(
        api_keys.c.id,
        api_keys.c.name,
        api_keys.c.secret_hash,
        api_keys.c.revoked_at,
        people.c.id.label("person_id"),
        people.c.role,
        people.c.organisation_id,
        people.c.active,
        people.c.locale,
    )
    .join(people, people.c.id == api_keys.c.person_id)
    .where(api_keys.c.id == bindparam("key_id"))
)


class KeyError_(ValueError):
    """A key cannot be created or revoked as asked; `rule` names why, for the pages to say in the reader's language."""

    def __init__(self, message: str, *, rule: str = "key") -> None:
        super().__init__(message)
        self.rule = rule


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a person, through one of their keys (or, in the pages, their session)."""

    key_id: str | None
    name: str  # the key's name
    role: str
    organisation_id: UUID | None
    person_id: UUID
    locale: str = "en"

    def actor(self) -> Actor:
        """The person is the actor of every event they cause; the key used is kept with it."""
        return Actor(str(self.person_id), self.role, self.organisation_id, self.key_id)


@dataclass(frozen=True)
class KeyInfo:
    id: str
    name: str
    role: str
    organisation_id: UUID | None
    created_at: datetime
    revoked_at: datetime | None
    person_id: UUID | None = None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyStore:
    def __init__(self, engine: Engine, writer: Engine | None = None) -> None:
        self.engine = engine
        # Creating or revoking a key reads (is the name taken? which key is meant?) and then writes in one transaction.
        # On SQLite that needs a transaction that holds the write lock from its start (the read model's writer
        # engine): a plain one that read before another connection's commit cannot take the lock any more and fails
        # at once, busy timeout or not.
        self.writer = writer or engine

    def create_for(self, *, person_id: UUID, name: str, demo: bool = False) -> tuple[str, KeyInfo]:
        """Create a key for an active person; returns the full token (shown once) and its record."""
        with self.writer.begin() as conn:
            person = PeopleStore(self.engine, self.writer).get(person_id, conn)
            if person is None or not person.active:
                raise KeyError_(f"no active person with id {person_id}", rule="key.person_inactive")
            return self._create(conn, person, name, demo)

    def create(
        self, *, name: str, role: str, organisation_id: UUID | None = None, demo: bool = False
    ) -> tuple[str, KeyInfo]:
        """The older way (`keys create --role`): a person of that role, named after the key, and their key."""
        if not NAME.match(name):
            raise KeyError_("name: 1-100 letters, digits or . _ @ -, starting with a letter or digit")
        with self.writer.begin() as conn:
            self._check_free(conn, None, name)
            try:
                person = PeopleStore(self.engine, self.writer).create(
                    actor_id="tracker keys create", name=name, role=role, organisation_id=organisation_id, conn=conn
                )
            except ValidationError as exc:
                raise KeyError_(str(exc.message)) from None
            return self._create(conn, person, name, demo)

    def _check_free(self, conn: Connection, person_id: UUID | None, name: str) -> None:
        """Key names are unique among a person's active keys, and (for keys made with a person) among all."""
        query = select(api_keys.c.id).where(api_keys.c.name == name, api_keys.c.revoked_at.is_(None))
        if person_id is not None:
            query = query.where(api_keys.c.person_id == person_id)
        if conn.execute(query).first() is not None:
            raise KeyError_(f"an active key named {name!r} exists; revoke it first", rule="key.name_taken")

    def _create(self, conn: Connection, person: Person, name: str, demo: bool) -> tuple[str, KeyInfo]:
        if not NAME.match(name):
            raise KeyError_("name: 1-100 letters, digits or . _ @ -, starting with a letter or digit")
        self._check_free(conn, person.id, name)
        key_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        now = utc_now()
        conn.execute(
            api_keys.insert().values(
                id=key_id,
                name=name,
                role=person.role,
                organisation_id=person.organisation_id,
                secret_hash=_hash(secret),
                created_at=now,
                revoked_at=None,
                demo=demo,
                person_id=person.id,
            )
        )
        info = KeyInfo(key_id, name, person.role, person.organisation_id, now.replace(tzinfo=UTC), None, person.id)
        return f"{PREFIX}_{key_id}_{secret}", info

    def verify(self, token: str, conn: Connection | None = None) -> Principal | None:
        """The principal for a token, or None (unknown, malformed, wrong secret, revoked, or its person inactive).

        The key is read from the database on every call (on `conn` if given), so a revocation holds at once."""
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != PREFIX or len(parts[1]) != 16 or len(token) > 200:
            return None
        _, key_id, secret = parts
        if conn is None:
            with self.engine.connect() as own:
                row = own.execute(_BY_ID, {"key_id": key_id}).mappings().first()
        else:
            row = conn.execute(_BY_ID, {"key_id": key_id}).mappings().first()
        # Compare even when the key is unknown, so timing does not reveal which ids exist.
        expected = row["secret_hash"] if row is not None else _hash("no such key")
        matches = hmac.compare_digest(expected, _hash(secret))
        if row is None or not matches or row["revoked_at"] is not None or not row["active"]:
            return None
        return Principal(row["id"], row["name"], row["role"], row["organisation_id"], row["person_id"], row["locale"])

    def revoke(self, key_id_or_name: str, *, person_id: UUID | None = None) -> int:
        """Revoke an active key by id or name (only among the person's, where a person is given); returns how many.

        Names are unique per person, so without a person a name several people use is refused: revoke by id."""
        now = utc_now()
        where = [
            (api_keys.c.id == key_id_or_name) | (api_keys.c.name == key_id_or_name),
            api_keys.c.revoked_at.is_(None),
        ]
        if person_id is not None:
            where.append(api_keys.c.person_id == person_id)
        with self.writer.begin() as conn:
            found = conn.execute(select(api_keys.c.id).where(*where)).scalars().all()
            if len(found) > 1:
                raise KeyError_(
                    f"{len(found)} active keys are named {key_id_or_name!r}; revoke one by its id",
                    rule="key.name_ambiguous",
                )
            result = conn.execute(update(api_keys).where(*where).values(revoked_at=now))
        return result.rowcount

    def revoke_demo_keys(self) -> int:
        now = utc_now()
        with self.writer.begin() as conn:
            return conn.execute(
                update(api_keys)
                .where(api_keys.c.demo.is_(True), api_keys.c.revoked_at.is_(None))
                .values(revoked_at=now)
            ).rowcount

    def list(self, *, include_revoked: bool = False, person_id: UUID | None = None) -> list[KeyInfo]:
        query = select(api_keys).order_by(api_keys.c.created_at)
        if person_id is not None:
            query = query.where(api_keys.c.person_id == person_id)
        if not include_revoked:
            query = query.where(api_keys.c.revoked_at.is_(None))
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            KeyInfo(
                r["id"],
                r["name"],
                r["role"],
                r["organisation_id"],
                r["created_at"].replace(tzinfo=UTC),
                r["revoked_at"].replace(tzinfo=UTC) if r["revoked_at"] else None,
                r["person_id"],
            )
            for r in rows
        ]
