"""Store selection: TRACKER_DATABASE_URL becomes the eventsourcing environment."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_DATABASE_URL = "sqlite:///var/tracker.db"
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class StoreConfigError(ValueError):
    """TRACKER_DATABASE_URL cannot be understood."""


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

    def event_store_env(self, *, create_tables: bool, pool_size: int = 5) -> dict[str, str]:
        """The eventsourcing settings for this store (no db functions: they lose events)."""
        env = {"CREATE_TABLE": "y" if create_tables else "n"}
        if self.kind == "memory":
            env["PERSISTENCE_MODULE"] = "eventsourcing.popo"
        elif self.kind == "sqlite":
            assert self.path is not None
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            env.update(PERSISTENCE_MODULE="eventsourcing.sqlite", SQLITE_DBNAME=self.path, SQLITE_LOCK_TIMEOUT="30")
        else:
            env.update(
                PERSISTENCE_MODULE="eventsourcing.postgres",
                POSTGRES_DBNAME=self.dbname or "",
                POSTGRES_HOST=self.host or "",
                POSTGRES_PORT=str(self.port),
                POSTGRES_USER=self.user or "",
                POSTGRES_PASSWORD=self.password or "",
                POSTGRES_POOL_SIZE=str(pool_size),
                POSTGRES_CONNECT_TIMEOUT="5",
                POSTGRES_PRE_PING="y",
                POSTGRES_ENABLE_DB_FUNCTIONS="n",
            )
            if self.schema:
                env["POSTGRES_SCHEMA"] = self.schema
        return env
