"""Counts of failed authentications, kept in the tracker's own database so every worker and host shares them.

A `limits` storage (fixed windows): the failed-authentication limit counts here unless Redis is configured, so
the limit holds however many gunicorn workers serve, without another service to run."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import sqlalchemy.exc
from limits.storage import Storage
from sqlalchemy import Column, Connection, Engine, Float, Integer, String, Table, bindparam, delete, select, text

from access.tables import key_metadata

auth_failures = Table(
    "auth_failures",
    key_metadata,
    Column("key", String(300), primary_key=True),
    Column("hits", Integer, nullable=False),
    Column("expires_at", Float, nullable=False),  # Unix time: when this window's count lapses
)
# Counts whose window ended this long ago are deleted as new failures are counted.
_KEEP_SECONDS = 3600
_INCREMENT = text(
    "INSERT INTO auth_failures (key, hits, expires_at) VALUES (:key, :amount, :now + :expiry) "
    "ON CONFLICT (key) DO UPDATE SET "
    "hits = CASE WHEN auth_failures.expires_at <= :now THEN :amount ELSE auth_failures.hits + :amount END, "
    "expires_at = CASE WHEN auth_failures.expires_at <= :now THEN :now + :expiry ELSE auth_failures.expires_at END "
    "RETURNING hits"
)

# Read on every API call: built once (SQLAlchemy then finds its compiled form in its cache without rebuilding it).
_COUNT = select(auth_failures.c.hits, auth_failures.c.expires_at).where(auth_failures.c.key == bindparam("key"))


class DatabaseCounts(Storage):
    """Fixed-window counters in the `auth_failures` table.

    Reads go through `read` (the request's own read connection, so a check costs no connection of its own); counts
    are written through `writer`, under `lock` (on SQLite, the file's writer lock)."""

    STORAGE_SCHEME = None

    def __init__(
        self,
        read: Callable[[], Connection],
        writer: Engine,
        lock: AbstractContextManager[Any] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(wrap_exceptions=True)
        self._read = read
        self._writer = writer
        self._lock = lock or nullcontext()
        self._clock = clock

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlalchemy.exc.SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = self._clock()
        with self._lock, self._writer.begin() as conn:
            conn.execute(delete(auth_failures).where(auth_failures.c.expires_at < now - _KEEP_SECONDS))
            hits = conn.execute(_INCREMENT, {"key": key, "amount": amount, "now": now, "expiry": expiry}).scalar_one()
        return int(hits)

    def _row(self, key: str) -> tuple[int, float] | None:
        row = self._read().execute(_COUNT, {"key": key}).first()
        if row is None or row.expires_at <= self._clock():
            return None
        return int(row.hits), float(row.expires_at)

    def get(self, key: str) -> int:
        found = self._row(key)
        return found[0] if found else 0

    def get_expiry(self, key: str) -> float:
        found = self._row(key)
        return found[1] if found else self._clock()

    def check(self) -> bool:
        self._read().execute(select(1))
        return True

    def reset(self) -> int | None:
        with self._lock, self._writer.begin() as conn:
            return conn.execute(delete(auth_failures)).rowcount

    def clear(self, key: str) -> None:
        with self._lock, self._writer.begin() as conn:
            conn.execute(delete(auth_failures).where(auth_failures.c.key == key))
