"""Which cipher key a store's events are written with, recorded in the store itself.

Decoding the newest event at start-up (storage.application.check_stored_events_readable) cannot tell anything on an
empty store: a process started then without TRACKER_CIPHER_KEY and one started with it would go on writing plaintext
and encrypted events side by side, and no process could read the whole log again. So the first process to open the
store records which key it writes with (a fingerprint, never the key), and every process compares its own with that
record and refuses to start on a mismatch. `tracker db upgrade` makes the record's table; a store upgraded by an
earlier release has none until its next upgrade, and is checked by its newest event alone until then."""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
from base64 import b64decode
from contextlib import closing

import psycopg
from psycopg import sql

from storage.config import StoreConfig, StoreConfigError

TABLE = "tracker_store"
KEY_RECORD = "cipher_key"
# What the record holds for a store written without encryption.
PLAINTEXT = "none"


def fingerprint(cipher_key: str | None) -> str:
    """What the record holds for a key: a hash that names the key without revealing it."""
    if cipher_key is None:
        return PLAINTEXT
    # Of the key's bytes, not of how they are written (base64 has more than one spelling of the same key).
    digest = hashlib.sha256(b"innovation-ecosystem-tracker/store-key\0" + b64decode(cipher_key)).hexdigest()
    return f"sha256:{digest[:32]}"


def create_table(config: StoreConfig) -> None:
    """Make the record's table (at `tracker db upgrade`, with the event tables)."""
    if config.kind == "sqlite":
        with closing(_sqlite(config)) as conn, conn:
            conn.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
    elif config.kind == "postgresql":
        with config.connect(autocommit=True) as conn:
            conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (name VARCHAR(64) PRIMARY KEY, value VARCHAR(200) NOT NULL)"
                ).format(_pg_table(config))
            )


def check_store_key(config: StoreConfig, cipher_key: str | None) -> None:
    """Refuse to start where the store records another key than this process's (or none where it has one, or
    one where it has none); record this process's where nothing is recorded yet (the first to record wins)."""
    if config.kind not in ("sqlite", "postgresql"):
        return
    mine = fingerprint(cipher_key)
    recorded = _record(config, mine)
    if recorded is None or recorded == mine:
        return
    if recorded == PLAINTEXT:
        raise StoreConfigError(
            "this store is kept without encryption (the first process to open it had no TRACKER_CIPHER_KEY), so "
            "TRACKER_CIPHER_KEY must not be set: a store cannot be encrypted in place. One that holds no events yet "
            "can be made afresh: remove it, then run `tracker db upgrade` with the key (docs/operations.md)"
        )
    if cipher_key is None:
        raise StoreConfigError("this store is kept encrypted: set TRACKER_CIPHER_KEY to its key")
    raise StoreConfigError("this TRACKER_CIPHER_KEY is not the store's key")


def _record(config: StoreConfig, mine: str) -> str | None:
    """The recorded fingerprint, after recording `mine` where there was none; None where there is no table yet.

    A store that cannot be reached now (the server down, no file) is left for the commands to report, as the newest
    event's check leaves it; one that may be read but not written is compared with what is recorded. Any other
    error stops the start: the check is never skipped silently."""
    if config.kind == "sqlite":
        insert = f"INSERT OR IGNORE INTO {TABLE} (name, value) VALUES (?, ?)"  # noqa: S608 - constant names
        select = f"SELECT value FROM {TABLE} WHERE name = ?"  # noqa: S608
        try:
            with closing(_sqlite(config)) as conn:
                # Read-only: compare with what is there.
                with contextlib.suppress(sqlite3.OperationalError), conn:
                    conn.execute(insert, (KEY_RECORD, mine))
                row = conn.execute(select, (KEY_RECORD,)).fetchone()
        except sqlite3.OperationalError as error:
            if "no such table" in str(error) or "unable to open" in str(error):
                return None  # no table yet (an earlier release's upgrade), or no file
            raise
    else:
        table = _pg_table(config)
        try:
            with config.connect(autocommit=True, connect_timeout=2) as conn:
                with contextlib.suppress(psycopg.errors.InsufficientPrivilege, psycopg.errors.ReadOnlySqlTransaction):
                    conn.execute(
                        sql.SQL("INSERT INTO {} (name, value) VALUES (%s, %s) ON CONFLICT (name) DO NOTHING").format(
                            table
                        ),
                        (KEY_RECORD, mine),
                    )
                row = conn.execute(
                    sql.SQL("SELECT value FROM {} WHERE name = %s").format(table), (KEY_RECORD,)
                ).fetchone()
        except (psycopg.errors.UndefinedTable, psycopg.OperationalError):
            return None  # no table yet (an earlier release's upgrade), or the server unreachable
        except psycopg.errors.InsufficientPrivilege as error:
            raise StoreConfigError(
                f"this database role may not read {TABLE}, where the store records its cipher key: grant it SELECT and "
                f"INSERT on {TABLE} ({error})"
            ) from None
    return str(row[0]) if row is not None else None


def _sqlite(config: StoreConfig) -> sqlite3.Connection:
    assert config.path is not None
    return sqlite3.connect(config.path, timeout=30)


def _pg_table(config: StoreConfig) -> sql.Composable:
    return sql.Identifier(config.schema, TABLE) if config.schema else sql.Identifier(TABLE)
