"""Alembic, driven from code: `upgrade(url)` brings the read-model schema to the latest revision, and
`check_schema` stops a writer whose code was written for another one."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect

from projections import deferred, tables
from projections.engine import make_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Where Alembic records the schema's revision (Alembic's own table, so not part of projections.tables' metadata).
REVISION_SQL = "SELECT version_num FROM alembic_version"


# The tracking rows every writer of derived rows locks first: the read model's projections and the outbox's.
_TRACKING_TABLES = (tables.tracking.name, "outbox_tracking")


class SchemaMismatch(RuntimeError):
    """The read model's schema is not at the revision this release's code writes for (see check_schema).

    `later` when the schema is at a revision this release does not know: a later release's."""

    def __init__(self, problem: str, *, later: bool) -> None:
        super().__init__(problem)
        self.later = later


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
            _hold_writers(conn)
            # A schema already at this release's head needs nothing from Alembic, which would otherwise load and
            # compile every migration script twice (each test's store and every `tracker db upgrade` at start-up).
            if not (revision == "head" and _at_head(conn)):
                config = alembic_config()
                config.attributes["connection"] = conn
                move(config, revision)
            if finish and _at_head(conn):
                deferred.finish_if_stopped(conn)
    finally:
        engine.dispose()


def _hold_writers(conn: Connection) -> None:
    """Keep the projections and the outbox from writing until the migration commits.

    Each of their batches locks its tracking rows first and reads the schema's revision after (check_schema). On
    PostgreSQL (READ COMMITTED) a batch that began while the migration ran would otherwise read the old revision and
    write once the migration had committed. The tables are locked here in EXCLUSIVE mode, which plain reads pass and
    a batch's `SELECT … FOR UPDATE` does not: a batch waits before it holds any lock on them (so a migration that
    alters or drops one does not deadlock with it), and then reads the new revision. On SQLite the migration's
    transaction already holds the database's write lock from its start."""
    if conn.dialect.name != "postgresql":
        return
    found = set(inspect(conn).get_table_names())
    held = [name for name in _TRACKING_TABLES if name in found]
    if held:
        conn.exec_driver_sql(f"LOCK TABLE {', '.join(held)} IN EXCLUSIVE MODE")


def _at_head(conn: Connection) -> bool:
    """Whether the schema is at this release's latest revision, and only there."""
    return MigrationContext.configure(conn).get_current_heads() == (code_revision(),)


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
            if not set(revisions_of(conn)) <= _revisions()[1]:
                return False  # a later release's schema: not this release's to count
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


@cache
def _revisions() -> tuple[str, frozenset[str]]:
    """This release's latest revision, and every revision it knows: read from its migrations once per process."""
    script = ScriptDirectory.from_config(alembic_config())
    head = script.get_current_head()
    assert head is not None, "the migrations have no head"
    return head, frozenset(revision.revision for revision in script.walk_revisions())


def code_revision() -> str:
    """The revision this release's code reads and writes the read model for: its latest migration."""
    return _revisions()[0]


def schema_problem(found: Sequence[str]) -> str | None:
    """What is wrong, if anything, with a read model whose Alembic revisions (the rows of alembic_version) are
    `found`, for this release's code; None when it is at this release's latest revision."""
    mismatch = _mismatch(found)
    return None if mismatch is None else str(mismatch)


def check_schema(found: Sequence[str]) -> None:
    """Refuse to go on writing the read model (SchemaMismatch) unless its schema is at this release's revision.

    Every projection batch, rebuild (and its end) and outbox batch checks, after locking its tracking rows: a process
    of an earlier release left running after `tracker db upgrade` (a rolling deploy) would otherwise go on writing
    rows by the rules the upgrade changed, and one of a later release would write to a schema not yet upgraded."""
    mismatch = _mismatch(found)
    if mismatch is not None:
        raise mismatch


def _mismatch(found: Sequence[str]) -> SchemaMismatch | None:
    head, known = _revisions()
    if list(found) == [head]:
        return None
    if not found:
        return SchemaMismatch("the read model has no schema revision: run 'tracker db upgrade'", later=False)
    at = ", ".join(found)
    if all(revision in known for revision in found):
        return SchemaMismatch(
            f"the read model's schema is at revision {at}, behind this release's {head}: run 'tracker db upgrade'",
            later=False,
        )
    return SchemaMismatch(
        f"the read model's schema is at revision {at}, which this release does not know (it is for {head}): a later "
        "release has upgraded it, so stop this process and run that release",
        later=True,
    )


def revisions_of(conn: Connection) -> list[str]:
    """The Alembic revisions recorded in the read model (one, unless the table was tampered with; none if empty).

    Read through the driver: every batch reads it under the writer's lock, and SQLAlchemy's statement handling
    costs many times what SQLite takes to answer."""
    driver: Any = conn.connection.driver_connection
    return [version for (version,) in driver.execute(REVISION_SQL).fetchall()]
