"""Create the event store's tables once, before any worker starts (never racing)."""

from __future__ import annotations

from psycopg import sql

from storage import store_key
from storage.application import open_application
from storage.config import StoreConfig

# An arbitrary constant: every process that creates the schema takes this advisory lock first.
SCHEMA_LOCK_KEY = 0x7472_6163_6B65_72


def create_event_tables(url: str) -> None:
    """Create the events and snapshots tables, the record of their cipher key (storage.store_key) and the
    PostgreSQL schema, where missing."""
    config = StoreConfig.from_url(url)
    if config.kind != "postgresql":
        open_application(url, create_tables=True).close()
        store_key.create_table(config)
        return
    with config.connect(autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK_KEY,))
        try:
            if config.schema:
                conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(config.schema)))
            open_application(url, create_tables=True, pool_size=1).close()
            store_key.create_table(config)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK_KEY,))


def drop_postgres_schema(url: str) -> None:
    """Drop a PostgreSQL schema and everything in it (used to clean up per-test schemas)."""
    config = StoreConfig.from_url(url)
    if config.kind != "postgresql" or not config.schema:
        raise ValueError("only a PostgreSQL URL with ?schema= can be dropped")
    with config.connect(autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(config.schema)))
