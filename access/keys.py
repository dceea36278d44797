"""API keys: random secrets shown once, stored only as SHA-256 hashes, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    DateTime,
    Engine,
    MetaData,
    String,
    Table,
    Uuid,
    bindparam,
    select,
    update,
)

from tracker.actors import ORGANISATION_ROLES, PERSON_ROLES, Actor

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
PREFIX = "iet"

key_metadata = MetaData()
api_keys = Table(
    "api_keys",
    key_metadata,
    Column("id", String(16), primary_key=True),
    Column("name", String(100), nullable=False, index=True),
    Column("role", String(16), nullable=False),
    Column("organisation_id", Uuid),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("revoked_at", DateTime),
    Column("demo", Boolean, nullable=False, default=False),
)

_BY_ID = select(api_keys).where(api_keys.c.id == bindparam("key_id"))


class KeyError_(ValueError):
    """A key cannot be created or revoked as asked."""


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: the key's name is the actor id on every event it causes."""

    key_id: str
    name: str
    role: str
    organisation_id: UUID | None

    def actor(self) -> Actor:
        return Actor(self.name, self.role, self.organisation_id)


@dataclass(frozen=True)
class KeyInfo:
    id: str
    name: str
    role: str
    organisation_id: UUID | None
    created_at: datetime
    revoked_at: datetime | None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyStore:
    def __init__(self, engine: Engine, writer: Engine | None = None) -> None:
        self.engine = engine
        # Creating a key reads (is the name taken?) and then writes in one transaction. On SQLite that needs a
        # transaction that holds the write lock from its start (the read model's writer engine): a plain one that
        # read before another connection's commit cannot take the lock any more and fails at once, busy timeout or not.
        self.writer = writer or engine

    def create(
        self, *, name: str, role: str, organisation_id: UUID | None = None, demo: bool = False
    ) -> tuple[str, KeyInfo]:
        """Create a key; returns the full token (shown once) and its record."""
        if not NAME.match(name):
            raise KeyError_("name: 1-100 letters, digits or . _ @ -, starting with a letter or digit")
        if role not in PERSON_ROLES:
            raise KeyError_(f"role must be one of {', '.join(PERSON_ROLES)}")
        if role in ORGANISATION_ROLES and organisation_id is None:
            raise KeyError_(f"a {role} key must be bound to an organisation (--organisation)")
        if role not in ORGANISATION_ROLES and organisation_id is not None:
            raise KeyError_(f"an {role} key is not bound to an organisation")
        key_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        now = datetime.now(UTC).replace(tzinfo=None)
        with self.writer.begin() as conn:
            active = conn.execute(
                select(api_keys.c.id).where(api_keys.c.name == name, api_keys.c.revoked_at.is_(None))
            ).first()
            if active is not None:
                raise KeyError_(f"an active key named {name!r} exists; revoke it first")
            conn.execute(
                api_keys.insert().values(
                    id=key_id,
                    name=name,
                    role=role,
                    organisation_id=organisation_id,
                    secret_hash=_hash(secret),
                    created_at=now,
                    revoked_at=None,
                    demo=demo,
                )
            )
        info = KeyInfo(key_id, name, role, organisation_id, now.replace(tzinfo=UTC), None)
        return f"{PREFIX}_{key_id}_{secret}", info

    def verify(self, token: str, conn: Connection | None = None) -> Principal | None:
        """The principal for a token, or None (unknown, malformed, wrong secret or revoked).

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
        if row is None or not matches or row["revoked_at"] is not None:
            return None
        return Principal(row["id"], row["name"], row["role"], row["organisation_id"])

    def revoke(self, key_id_or_name: str) -> int:
        now = datetime.now(UTC).replace(tzinfo=None)
        with self.engine.begin() as conn:
            result = conn.execute(
                update(api_keys)
                .where(
                    (api_keys.c.id == key_id_or_name) | (api_keys.c.name == key_id_or_name),
                    api_keys.c.revoked_at.is_(None),
                )
                .values(revoked_at=now)
            )
        return result.rowcount

    def revoke_demo_keys(self) -> int:
        now = datetime.now(UTC).replace(tzinfo=None)
        with self.engine.begin() as conn:
            return conn.execute(
                update(api_keys)
                .where(api_keys.c.demo.is_(True), api_keys.c.revoked_at.is_(None))
                .values(revoked_at=now)
            ).rowcount

    def list(self, *, include_revoked: bool = False) -> list[KeyInfo]:
        query = select(api_keys).order_by(api_keys.c.created_at)
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
            )
            for r in rows
        ]
