"""Store selection: TRACKER_DATABASE_URL (and TRACKER_CIPHER_KEY) become the eventsourcing environment."""

from __future__ import annotations

import binascii
import importlib.util
import re
from base64 import b64decode
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import psycopg

from storage import postgres

DEFAULT_DATABASE_URL = "sqlite:///var/tracker.db"
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# AES-GCM from the `cryptography` package (about ten times faster than eventsourcing's default pycryptodome cipher),
# applied after zlib compression, so stored payloads are compressed, then encrypted.
CIPHER_TOPIC = "eventsourcing.cryptography:AESCipher"
COMPRESSOR_TOPIC = "eventsourcing.compressor:ZlibCompressor"
CIPHER_KEY_SIZES = (16, 24, 32)
MAKE_KEY_HINT = (
    "make one with: python -c 'from eventsourcing.cryptography import AESCipher; print(AESCipher.create_key(32))'"
)


class StoreConfigError(ValueError):
    """TRACKER_DATABASE_URL or TRACKER_CIPHER_KEY cannot be understood."""


def check_cipher_key(key: str) -> bytes:
    """The raw AES key in TRACKER_CIPHER_KEY: standard base64 of 16, 24 or 32 random bytes."""
    try:
        raw = b64decode(key.strip().encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise StoreConfigError(f"TRACKER_CIPHER_KEY is not valid base64; {MAKE_KEY_HINT}") from None
    if len(raw) not in CIPHER_KEY_SIZES:
        raise StoreConfigError(
            f"TRACKER_CIPHER_KEY decodes to {len(raw)} bytes; AES needs 16, 24 or 32 (32 recommended); {MAKE_KEY_HINT}"
        )
    if importlib.util.find_spec("cryptography") is None:
        raise StoreConfigError(
            "TRACKER_CIPHER_KEY is set but the 'cryptography' package is not installed "
            "(install eventsourcing[cryptography])"
        )
    return raw


def cipher_env(key: str | None) -> dict[str, str]:
    """The eventsourcing settings that encrypt and compress stored payloads; none without a key."""
    if not key or not key.strip():
        return {}
    check_cipher_key(key)
    return {"CIPHER_TOPIC": CIPHER_TOPIC, "CIPHER_KEY": key.strip(), "COMPRESSOR_TOPIC": COMPRESSOR_TOPIC}


@dataclass(frozen=True)
class StoreConfig:
    """Where events live: 'memory', 'sqlite' (a file path) or 'postgresql'."""

    kind: str
    path: str | None = None
    host: str | None = None
    port: int | None = None
    user: str | None = None
    password: str | None = None
    dbname: str | None = None
    schema: str | None = None

    @classmethod
    def from_url(cls, url: str) -> StoreConfig:
        """Parse `memory://`, `sqlite:///relative`, `sqlite:////absolute` or `postgresql://…[?schema=name]`."""
        parts = urlsplit(url)
        scheme = parts.scheme.split("+", 1)[0].lower()
        if scheme in ("memory", "popo"):
            return cls(kind="memory")
        if scheme == "sqlite":
            path = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
            if not path or parts.netloc:
                raise StoreConfigError("a SQLite URL looks like sqlite:///var/tracker.db")
            return cls(kind="sqlite", path=path)
        if scheme in ("postgresql", "postgres"):
            query = parse_qs(parts.query)
            schema = query.get("schema", [None])[0]
            if schema is not None and not _SCHEMA.match(schema):
                raise StoreConfigError(f"invalid PostgreSQL schema name {schema!r}")
            dbname = unquote(parts.path.lstrip("/"))
            if not dbname or not parts.hostname:
                raise StoreConfigError("a PostgreSQL URL looks like postgresql://user@host:5432/dbname")
            return cls(
                kind="postgresql",
                host=parts.hostname,
                port=parts.port or 5432,
                user=unquote(parts.username) if parts.username else "postgres",
                password=unquote(parts.password) if parts.password else "",
                dbname=dbname,
                schema=schema,
            )
        raise StoreConfigError(f"unsupported TRACKER_DATABASE_URL scheme {parts.scheme!r}")

    def connect(self, **options: Any) -> psycopg.Connection[Any]:
        """A plain psycopg connection to this PostgreSQL store, outside any pool (`options` go to psycopg)."""
        if self.kind != "postgresql":
            raise StoreConfigError(f"a {self.kind} store has no PostgreSQL connection")
        return psycopg.connect(
            host=self.host, port=self.port, user=self.user, password=self.password, dbname=self.dbname, **options
        )

    def event_store_env(
        self, *, create_tables: bool, pool_size: int = 5, cipher_key: str | None = None
    ) -> dict[str, str]:
        """The eventsourcing settings for this store (no db functions: they lose events).

        With a cipher key, event and snapshot payloads are compressed and encrypted (AES-GCM) before they are stored.
        """
        env = {"CREATE_TABLE": "y" if create_tables else "n"} | cipher_env(cipher_key)
        if self.kind == "memory":
            env["PERSISTENCE_MODULE"] = "eventsourcing.popo"
        elif self.kind == "sqlite":
            assert self.path is not None
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            env.update(PERSISTENCE_MODULE="eventsourcing.sqlite", SQLITE_DBNAME=self.path, SQLITE_LOCK_TIMEOUT="30")
        else:
            env.update(
                # eventsourcing's PostgreSQL recorders, made to give up after two tries (see storage.postgres).
                PERSISTENCE_MODULE=postgres.FACTORY_TOPIC,
                POSTGRES_DBNAME=self.dbname or "",
                POSTGRES_HOST=self.host or "",
                POSTGRES_PORT=str(self.port),
                POSTGRES_USER=self.user or "",
                POSTGRES_PASSWORD=self.password or "",
                POSTGRES_POOL_SIZE=str(pool_size),
                POSTGRES_CONNECT_TIMEOUT="2",
                POSTGRES_PRE_PING="y",
                POSTGRES_ENABLE_DB_FUNCTIONS="n",
            )
            if self.schema:
                env["POSTGRES_SCHEMA"] = self.schema
        return env
