"""Changing stored events behind the application's back, straight in the database, as an intruder would."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import Any

from psycopg import sql

from storage.config import StoreConfig

TAMPERINGS = ("altered", "deleted", "reordered", "reordered_positions")


class Tamper:
    """Raw SQL on the events table of a SQLite or PostgreSQL store; rows are addressed by log position."""

    def __init__(self, url: str, app_name: str = "tracker") -> None:
        self.config = StoreConfig.from_url(url)
        self.app_name = app_name

    @contextmanager
    def _cursor(self) -> Iterator[tuple[Any, str, str, str]]:
        """A cursor in a transaction, the events table, its position column and the parameter marker."""
        c = self.config
        if c.kind == "sqlite":
            assert c.path is not None
            with closing(sqlite3.connect(c.path)) as conn, conn:
                yield conn.cursor(), "stored_events", "rowid", "?"
            return
        with (
            c.connect() as pg,
            pg.cursor() as pg_cursor,
        ):
            table = sql.Identifier(c.schema or "public", f"{self.app_name}_events").as_string(pg)
            yield pg_cursor, table, "notification_id", "%s"

    def row(self, position: int) -> tuple[str, bytes]:
        """The stored topic and state bytes at `position`."""
        with self._cursor() as (cur, table, pos, p):
            cur.execute(f"SELECT topic, state FROM {table} WHERE {pos} = {p}", (position,))  # noqa: S608
            topic, state = cur.fetchone()
            return topic, bytes(state)

    def _set(self, cur: Any, table: str, pos: str, p: str, position: int, topic: str, state: bytes) -> None:
        cur.execute(f"UPDATE {table} SET topic = {p}, state = {p} WHERE {pos} = {p}", (topic, state, position))  # noqa: S608

    def alter(self, position: int) -> None:
        """Flip one bit of the event's stored bytes."""
        topic, state = self.row(position)
        changed = bytes([state[0] ^ 0x01]) + state[1:]
        with self._cursor() as (cur, table, pos, p):
            self._set(cur, table, pos, p, position, topic, changed)

    def forge(self, position: int, old: bytes, new: bytes) -> None:
        """Rewrite part of a plain JSON event, so that it still decodes (and a rebuild accepts it)."""
        topic, state = self.row(position)
        assert old in state
        with self._cursor() as (cur, table, pos, p):
            self._set(cur, table, pos, p, position, topic, state.replace(old, new))

    def delete(self, position: int) -> None:
        with self._cursor() as (cur, table, pos, p):
            cur.execute(f"DELETE FROM {table} WHERE {pos} = {p}", (position,))  # noqa: S608
            assert cur.rowcount == 1

    def swap(self, first: int, second: int) -> None:
        """Swap two events' stored bytes and topics."""
        a, b = self.row(first), self.row(second)
        assert a != b
        with self._cursor() as (cur, table, pos, p):
            self._set(cur, table, pos, p, first, *b)
            self._set(cur, table, pos, p, second, *a)

    def swap_positions(self, first: int, second: int) -> None:
        """Swap two whole events' places in the log."""
        with self._cursor() as (cur, table, pos, p):
            for old, new in ((first, -1), (second, first), (-1, second)):
                cur.execute(f"UPDATE {table} SET {pos} = {p} WHERE {pos} = {p}", (new, old))  # noqa: S608

    def apply(self, tampering: str, first: int, second: int) -> int:
        """Do one of TAMPERINGS at `first` (and `second`, for reorders); returns the first bad position."""
        if tampering == "altered":
            self.alter(first)
        elif tampering == "deleted":
            self.delete(first)
        elif tampering == "reordered":
            self.swap(first, second)
        elif tampering == "reordered_positions":
            self.swap_positions(first, second)
        else:
            raise ValueError(tampering)
        return min(first, second) if tampering.startswith("reordered") else first
