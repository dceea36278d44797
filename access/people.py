"""People: who uses the tracker, in an ordinary table so that a person can be erased.

Events name a person only by id. Every change to a person is recorded in `person_changes` (who, when, which fields),
which is only ever added to and never holds a name or an address."""

from __future__ import annotations

import re
import uuid
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import structlog
from sqlalchemy import Connection, Engine, bindparam, delete, func, or_, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from access.tables import api_keys, invitations, passwords, people, person_changes
from projections.clock import utc_now
from projections.queries import contains
from tracker import limits
from tracker.actors import OPTIONAL_ORGANISATION_ROLES, ORGANISATION_ROLES, PERSON_ROLES, Actor
from tracker.errors import DuplicateError, NotFoundError, ValidationError
from tracker.validation import required_text

# One address, as a mail header names it: no characters that separate or group addresses there (a comma or a
# semicolon would make one person's address several recipients), quote, comment or escape them, or control ones.
_LOCAL_CHAR = r"[^@\s,;:<>()\[\]\\\"\x00-\x1f\x7f]"
_DOMAIN_CHAR = r"[^@.\s,;:<>()\[\]\\\"\x00-\x1f\x7f]"
EMAIL = re.compile(rf"^{_LOCAL_CHAR}{{1,64}}@{_DOMAIN_CHAR}+(?:\.{_DOMAIN_CHAR}+)+$")
LOCALE = re.compile(r"^[a-z]{2}(-[A-Z]{2})?$")
DEFAULT_LOCALE = "en"
EMAIL_MAX = 320
# Changes to these fields are recorded with their new value; the others (name, email) only as "changed".
_RECORDED_VALUES = ("role", "organisation_id", "locale", "active")
# A person by id, as each assignment request looks its evaluator up: built once (a statement built per call costs
# several times what running it does).
_BY_ID = select(people).where(people.c.id == bindparam("person_id"))
ERASED = "erased person"
# The tables an erasure changes: what it removed must not stay readable in the store's files.
_ERASED_FROM = (people, api_keys, passwords, invitations)
# How long the scrub after an erasure waits for other connections (readers on an older snapshot, a lock held by a
# vacuum), so that an erasure never holds other writers for long; the scrub is tried again at the next erasure.
SCRUB_WAIT_S = 5

log = structlog.get_logger("tracker.people")


class DuplicateEmailError(DuplicateError):
    rule = "person.duplicate_email"


@dataclass(frozen=True)
class Person:
    id: UUID
    name: str | None
    email: str | None
    role: str
    organisation_id: UUID | None
    locale: str
    active: bool
    erased: bool

    @property
    def display_name(self) -> str:
        return self.name if self.name is not None else ERASED

    def actor(self, key: str | None = None) -> Actor:
        """The person as the actor of the commands they issue (through the key `key`, where there is one)."""
        return Actor(str(self.id), self.role, self.organisation_id, key)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.display_name,
            "email": self.email,
            "role": self.role,
            "organisation_id": self.organisation_id,
            "locale": self.locale,
            "active": self.active,
        }


def person_of(row: Any) -> Person:
    """A person from a row of `people` (extra columns are ignored)."""
    return Person(
        row["id"],
        row["name"],
        row["email"],
        row["role"],
        row["organisation_id"],
        row["locale"],
        row["active"],
        row["erased_at"] is not None,
    )


def clean_email(value: Any) -> str:
    email = required_text(value, "email", max_length=EMAIL_MAX)
    assert email is not None
    if not EMAIL.match(email):
        raise ValidationError("email", "must be an e-mail address such as name@example.org")
    return email


def check_role(role: Any, organisation_id: UUID | None) -> None:
    """Providers and evaluators act for an organisation; managers may; admins and analysts do not."""
    if role not in PERSON_ROLES:
        raise ValidationError("role", f"must be one of {', '.join(PERSON_ROLES)}")
    article = "an" if role[0] in "aeiou" else "a"
    if role in ORGANISATION_ROLES and organisation_id is None:
        raise ValidationError("organisation_id", f"{article} {role} must belong to an organisation")
    if organisation_id is not None and role not in (*ORGANISATION_ROLES, *OPTIONAL_ORGANISATION_ROLES):
        raise ValidationError("organisation_id", f"{article} {role} is not bound to an organisation")


def _clean(fields: dict[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for key, value in fields.items():
        if key == "name":
            cleaned[key] = required_text(value, "name", max_length=limits.NAME_MAX)
        elif key == "email":
            cleaned[key] = clean_email(value) if value is not None else None
        elif key == "locale":
            if not isinstance(value, str) or not LOCALE.match(value):
                raise ValidationError("locale", "must be a language tag such as en, fr or pt-PT")
            cleaned[key] = value
        elif key == "active":
            if not isinstance(value, bool):
                raise ValidationError("active", "must be true or false")
            cleaned[key] = value
        elif key in ("role", "organisation_id"):
            cleaned[key] = value
        else:
            raise ValidationError(key, "is not a field of a person")
    return cleaned


def _recorded(fields: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (str(v) if isinstance(v, UUID) else v) if k in _RECORDED_VALUES else "changed" for k, v in fields.items()
    }


class PeopleStore:
    """People and the record of changes to them. Writes go through `writer` (on SQLite, the read model's writer)."""

    def __init__(self, engine: Engine, writer: Engine | None = None) -> None:
        self.engine = engine
        self.writer = writer or engine

    def create(
        self,
        *,
        actor_id: str,
        name: str,
        role: str,
        email: str | None = None,
        organisation_id: UUID | None = None,
        locale: str = DEFAULT_LOCALE,
        conn: Connection | None = None,
    ) -> Person:
        """Add a person; the same address twice (ignoring case) is refused."""
        fields = _clean({"name": name, "email": email, "locale": locale, "role": role})
        check_role(role, organisation_id)
        now = utc_now()
        row = {
            "id": uuid.uuid4(),
            **fields,
            "email_key": fields["email"].lower() if fields["email"] else None,
            "organisation_id": organisation_id,
            "active": True,
            "created_at": now,
            "updated_at": now,
            "erased_at": None,
        }
        recorded = _recorded({k: row[k] for k in ("name", "email", "role", "organisation_id", "locale", "active")})
        try:
            with self._writing(conn) as tx:
                tx.execute(people.insert().values(**row))
                self._record(tx, row["id"], actor_id, "created", recorded, now)
        except IntegrityError:
            raise DuplicateEmailError(f"a person with the address {fields['email']} exists already") from None
        return person_of(row)

    def get(self, person_id: UUID, conn: Connection | None = None) -> Person | None:
        values = {"person_id": person_id}
        if conn is not None:
            row = conn.execute(_BY_ID, values).mappings().first()
        else:
            with self.engine.connect() as own:
                row = own.execute(_BY_ID, values).mappings().first()
        return person_of(row) if row is not None else None

    def require(self, person_id: UUID, conn: Connection | None = None) -> Person:
        found = self.get(person_id, conn)
        if found is None:
            raise NotFoundError("person", person_id)
        return found

    def list(
        self,
        conn: Connection,
        *,
        role: str | None = None,
        organisation_id: UUID | None = None,
        q: str | None = None,
        page: int = 1,
        page_size: int = 20,
    ) -> tuple[list[Person], int]:
        """People, by name; filtered by role, organisation and a text in the name or address."""
        where = []
        if role is not None:
            where.append(people.c.role == role)
        if organisation_id is not None:
            where.append(people.c.organisation_id == organisation_id)
        if q:
            where.append(or_(contains(func.lower(people.c.name), q), contains(people.c.email_key, q)))
        total = conn.scalar(select(func.count()).select_from(people).where(*where)) or 0
        rows = conn.execute(
            select(people)
            .where(*where)
            .order_by(people.c.name.is_(None), func.lower(people.c.name), people.c.id)
            .limit(page_size)
            .offset((page - 1) * page_size)
        ).mappings()
        return [person_of(r) for r in rows], total

    def update(self, person_id: UUID, changes: dict[str, Any], *, actor_id: str) -> Person:
        """Change a person's fields; `active: False` stops every key of theirs at once (keys check it per request)."""
        if not changes:
            raise ValidationError("changes", "name at least one field to change")
        with self.writer.begin() as tx:
            current = self.require(person_id, tx)
            if current.erased:
                raise ValidationError("id", "an erased person cannot be changed", rule="person.erased")
            # An address is checked when it changes: one stored before a rule that now refuses it does not stop a
            # change of the person's name or language (a form sends the address with every change).
            fields = _clean({k: v for k, v in changes.items() if not (k == "email" and v == current.email)})
            role = fields.get("role", current.role)
            organisation = fields.get("organisation_id", current.organisation_id)
            check_role(role, organisation)
            changed = {k: v for k, v in fields.items() if getattr(current, k) != v}
            if not changed:
                return current
            values = dict(changed)
            if "email" in changed:
                values["email_key"] = changed["email"].lower() if changed["email"] else None
            now = utc_now()
            try:
                tx.execute(update(people).where(people.c.id == person_id).values(**values, updated_at=now))
            except IntegrityError:
                raise DuplicateEmailError(f"a person with the address {changed['email']} exists already") from None
            self._record(tx, person_id, actor_id, "updated", _recorded(changed), now)
            return self.require(person_id, tx)

    def erase(self, person_id: UUID, *, actor_id: str) -> Person:
        """Remove the person's name and address, their keys' names, their password and invitations; the id stays in the
        history."""
        now = utc_now()
        with self.writer.begin() as tx:
            current = self.require(person_id, tx)
            if current.erased:
                return current
            if tx.dialect.name == "sqlite":
                # Overwrite the old row's bytes in the page, not only unlink them (off in some SQLite builds).
                tx.exec_driver_sql("PRAGMA secure_delete = ON")
            tx.execute(
                update(people)
                .where(people.c.id == person_id)
                .values(name=None, email=None, email_key=None, active=False, erased_at=now, updated_at=now)
            )
            tx.execute(
                update(api_keys)
                .where(api_keys.c.person_id == person_id)
                .values(name="erased", revoked_at=func.coalesce(api_keys.c.revoked_at, now))
            )
            tx.execute(delete(passwords).where(passwords.c.person_id == person_id))
            tx.execute(delete(invitations).where(invitations.c.person_id == person_id))
            self._record(tx, person_id, actor_id, "erased", {"name": "erased", "email": "erased"}, now)
            erased = self.require(person_id, tx)
        self._scrub()
        return erased

    def _scrub(self) -> None:
        """Leave the erased name and address nowhere in the store's files, as far as the store can.

        PostgreSQL keeps an updated row's old version (and its index entries) in the table's pages until a vacuum
        removes it: the erasure vacuums the tables it changed. SQLite keeps every page a transaction wrote in its
        write-ahead log until a checkpoint copies them back and the log is written over: the erasure checkpoints
        and empties the log. Either waits at most SCRUB_WAIT_S for other connections (an open transaction keeps
        what it may still read), and says so if it could not finish. Backups taken before, and PostgreSQL's own
        write-ahead log and its archives, keep the earlier rows until they are deleted or recycled (see
        docs/operations.md, "Erasing a person")."""
        names = ", ".join(table.name for table in _ERASED_FROM)
        try:
            with self.writer.connect() as conn:
                if conn.dialect.name == "postgresql":
                    autocommit = conn.execution_options(isolation_level="AUTOCOMMIT")
                    autocommit.exec_driver_sql(f"SET lock_timeout = '{SCRUB_WAIT_S}s'")
                    try:
                        autocommit.exec_driver_sql(f"VACUUM {names}")
                    finally:
                        autocommit.exec_driver_sql("RESET lock_timeout")
                    return
                if conn.dialect.name != "sqlite":
                    return
                # Outside a transaction (a checkpoint cannot run inside one): the driver is in autocommit.
                driver = conn.connection.driver_connection
                (waited,) = driver.execute("PRAGMA busy_timeout").fetchone()
                driver.execute(f"PRAGMA busy_timeout = {SCRUB_WAIT_S * 1000}")
                try:
                    busy, _, _ = driver.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                finally:
                    driver.execute(f"PRAGMA busy_timeout = {waited}")
                if busy:
                    log.warning(
                        "erasure_not_scrubbed",
                        reason="another connection was reading: the write-ahead log keeps the erased row until "
                        "the next erasure or until the last process closes the store",
                    )
        except DBAPIError as error:
            log.warning("erasure_not_scrubbed", reason=str(error.orig).strip()[:300], tables=names)

    def changes(self, person_id: UUID) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(person_changes).where(person_changes.c.person_id == person_id).order_by(person_changes.c.id)
            ).mappings()
            return [dict(r) for r in rows]

    def _record(
        self, tx: Connection, person_id: UUID, actor_id: str, change: str, fields: dict[str, Any], at: datetime
    ) -> None:
        tx.execute(
            person_changes.insert().values(person_id=person_id, at=at, actor_id=actor_id, change=change, fields=fields)
        )

    def _writing(self, conn: Connection | None) -> AbstractContextManager[Connection]:
        """The caller's transaction where it has one (a key made with its person), else one of our own."""
        return nullcontext(conn) if conn is not None else self.writer.begin()
