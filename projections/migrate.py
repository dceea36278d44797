"""Alembic, driven from code: `upgrade(url)` brings the read-model schema to the latest revision."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect

from projections import deferred, tables
from projections.engine import make_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _migrate(url: str, move: Callable[[Config, str], None], revision: str, *, finish: bool = False) -> None:
    # Alembic reads the revision and then writes, in one transaction: on SQLite the writer engine's transaction holds
    # the write lock from its start, so another process's commit in between cannot fail the migration.
    engine = make_engine(url, writer=True)
    try:
        with engine.begin() as conn:
            config = alembic_config()
            config.attributes["connection"] = conn
            move(config, revision)
            if finish and _at_head(conn, config):
                deferred.finish_if_stopped(conn)
    finally:
        engine.dispose()


def _at_head(conn: Connection, config: Config) -> bool:
    current = MigrationContext.configure(conn).get_current_revision()
    return current == ScriptDirectory.from_config(config).get_current_head()


def upgrade(url: str, revision: str = "head") -> None:
    """Upgrade the schema to `revision`. A migration that changes rows the running counts are counted from leaves
    them to count again, as a rebuild that stopped part way does (projections.deferred); an upgrade that reaches the
    head, however it is named, counts them in its own transaction, with the code that matches the schema it leaves.
    Short of the head, the next upgrade to it or the next projection batch does."""
    _migrate(url, command.upgrade, revision, finish=True)


def finish_stopped_rebuild(url: str) -> bool:
    """Build the indexes and count the running counts that a rebuild which stopped part way left (see
    projections.deferred); True if there were any. The next projection batch would do it too."""
    engine = make_engine(url, writer=True)
    try:
        with engine.begin() as conn:
            if not inspect(conn).has_table(tables.deferred.name):
                return False
            return deferred.finish_if_stopped(conn)
    finally:
        engine.dispose()


def downgrade(url: str, revision: str) -> None:
    """Back to `revision`: a later upgrade recreates the read-model tables it drops and backfills them."""
    _migrate(url, command.downgrade, revision)


def current_revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
