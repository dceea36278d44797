"""The access room's tables: people, the append-only record of changes to them, their API keys, passwords and
invitations.

People live here, not in the event log, so that a person can be erased; events carry only the person's id."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, DateTime, Index, Integer, MetaData, String, Table, Text, Uuid

key_metadata = MetaData()

people = Table(
    "people",
    key_metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(300)),  # None once erased
    Column("email", String(320)),  # None once erased, and for people made for a key by `keys create --role`
    Column("email_key", String(320), unique=True),  # the address in lower case: one person per address
    Column("role", String(16), nullable=False),
    Column("organisation_id", Uuid),
    Column("locale", String(16), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("erased_at", DateTime),
    Index("ix_people_role", "role", "organisation_id"),
)

# Every change to a person: who made it, when, which fields. Names and addresses are never copied here, so erasing
# a person leaves nothing of them behind; rows are only ever added.
person_changes = Table(
    "person_changes",
    key_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("person_id", Uuid, nullable=False, index=True),
    Column("at", DateTime, nullable=False),
    Column("actor_id", String(200), nullable=False),
    Column("change", String(16), nullable=False),  # created, updated, erased
    Column("fields", JSON, nullable=False),  # {field: new value} where the value is not personal, else "changed"
)

api_keys = Table(
    "api_keys",
    key_metadata,
    Column("id", String(16), primary_key=True),
    Column("name", String(100), nullable=False, index=True),
    Column("role", String(16), nullable=False),  # the role when created; the person's role is the one that counts
    Column("organisation_id", Uuid),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("revoked_at", DateTime),
    Column("demo", Boolean, nullable=False, default=False),
    Column("person_id", Uuid, index=True),
)

# A person's password for the pages, as an argon2 hash (access.signin). Erasing the person deletes it.
passwords = Table(
    "passwords",
    key_metadata,
    Column("person_id", Uuid, primary_key=True),
    Column("hash", Text, nullable=False),
    Column("set_at", DateTime, nullable=False),
    # How many times the person signed out: each sign-out ends every session of theirs (access.signin's stamp).
    Column("sign_outs", Integer, nullable=False, server_default="0"),
)

# Invitations to set a password: single-use links, kept as the SHA-256 of their token, that lapse at expires_at.
invitations = Table(
    "invitations",
    key_metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("person_id", Uuid, nullable=False, index=True),
    Column("created_at", DateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("used_at", DateTime),
)

# Secrets the processes share that nobody configured, made once at first use (access.secrets).
app_secrets = Table(
    "app_secrets",
    key_metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String(200), nullable=False),
)
