"""Alembic owns the read-model schema: the migrated database matches the table definitions exactly."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import uuid
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, select

from access.attempts import auth_failures
from access.tables import api_keys, key_metadata, people, person_changes
from projections.dump import dump
from projections.engine import make_engine
from projections.migrate import alembic_config, current_revision, downgrade, upgrade
from projections.read_model import ReadModel
from projections.tables import metadata
from runtime.import_jobs import import_jobs
from storage.application import open_application
from storage.config import StoreConfig
from storage.schema import create_event_tables
from tests.readmodel import Clock, random_history
from tests.sqlite_interference import a_select, another_writer
from tests.world import build_world

ROOT = Path(__file__).resolve().parent.parent
HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_migrated_schema_matches_the_table_definitions(sql_url: str) -> None:
    engine = make_engine(sql_url)
    try:
        with engine.connect() as conn:
            read_model_diff = compare_metadata(MigrationContext.configure(conn), metadata)
            keys_diff = compare_metadata(MigrationContext.configure(conn), key_metadata)
    finally:
        engine.dispose()
    assert [d for d in read_model_diff if "rm_" in repr(d)] == []
    assert auth_failures.metadata is key_metadata
    assert import_jobs.metadata is key_metadata
    access_tables = ("api_keys", "auth_failures", "people", "person_changes")
    assert [d for d in keys_diff if any(name in repr(d) for name in access_tables)] == []
    assert current_revision(sql_url) == HEAD


def test_upgrade_to_0013_gives_every_existing_key_a_person_of_its_own(sql_url: str) -> None:
    """Keys made before people existed keep working: each becomes a person named after the key, with its role and
    organisation, active unless the key was revoked."""
    downgrade(sql_url, "0012")
    engine = make_engine(sql_url)
    organisation = uuid.uuid4()
    rows = [
        ("a" * 16, "kaunas-vet", "provider", organisation, None),
        ("b" * 16, "old-analyst", "analyst", None, datetime(2026, 1, 1)),
    ]
    try:
        with engine.begin() as conn:
            for key_id, name, role, org, revoked in rows:
                conn.execute(
                    api_keys.insert().values(
                        id=key_id,
                        name=name,
                        role=role,
                        organisation_id=org,
                        secret_hash="0" * 64,
                        created_at=datetime(2025, 1, 1),
                        revoked_at=revoked,
                        demo=False,
                    )
                )
        upgrade(sql_url)
        with engine.connect() as conn:
            found = conn.execute(
                select(api_keys.c.name, people.c.name, people.c.role, people.c.organisation_id, people.c.active)
                .join(people, people.c.id == api_keys.c.person_id)
                .order_by(api_keys.c.name)
            ).all()
            changes = conn.execute(select(person_changes.c.change, person_changes.c.actor_id)).all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in found] == [
        ("kaunas-vet", "kaunas-vet", "provider", organisation, True),
        ("old-analyst", "old-analyst", "analyst", None, False),
    ]
    assert changes == [("created", "migration"), ("created", "migration")]


def test_upgrade_twice_changes_nothing(sql_url: str) -> None:
    upgrade(sql_url)
    assert current_revision(sql_url) == HEAD


class UnsteadyClock(Clock):
    """A clock that now and then steps back by up to ten days, as a wall clock reset can."""

    def __init__(self, rng: random.Random) -> None:
        super().__init__(rng)
        self.told: list[datetime] = []

    def __call__(self) -> datetime:
        if self.rng.random() < 0.2:
            self.now -= timedelta(hours=self.rng.randint(1, 240))
        else:
            super().__call__()
        self.told.append(self.now)
        return self.now


def test_upgrade_to_0006_backfills_the_funnel_days_the_projection_writes(read_model: ReadModel) -> None:
    rng = random.Random(6)
    read_model.app.clock = clock = UnsteadyClock(rng)
    random_history(build_world(read_model.app), rng, steps=200)
    read_model.batch_size = 9
    read_model.catch_up()
    projected = dump(read_model)
    assert len(projected["rm_funnel_days"]) > 20
    assert any(later.date() < earlier.date() for earlier, later in pairwise(clock.told)), (
        "the clock never stepped back to the day before"
    )

    downgrade(read_model.url, "0005")
    assert current_revision(read_model.url) == "0005"
    upgrade(read_model.url)
    # Tables that later migrations create come back empty from a downgrade below them; a rebuild refills them.
    later = ("rm_assignments", "rm_notes", "rm_grants", "rm_facet_counts")
    assert {k: v for k, v in dump(read_model).items() if k not in later} == {
        k: v for k, v in projected.items() if k not in later
    }


def test_score_counts_backfilled_by_the_upgrade_equal_the_projected_ones(read_model: ReadModel) -> None:
    rng = random.Random(5)
    read_model.app.clock = Clock(rng)
    random_history(build_world(read_model.app), rng, steps=120)
    read_model.catch_up()
    counts = ("rm_score_groups", "rm_score_buckets", "rm_score_values")
    projected = {name: rows for name, rows in dump(read_model).items() if name in counts}
    assert all(projected.values()), "the history scored nothing"

    downgrade(read_model.url, "0006")
    upgrade(read_model.url)
    assert {name: rows for name, rows in dump(read_model).items() if name in counts} == projected


def test_grants_filled_by_the_upgrade_to_0015_equal_the_projected_ones(read_model: ReadModel) -> None:
    rng = random.Random(15)
    read_model.app.clock = Clock(rng)
    random_history(build_world(read_model.app), rng, steps=160)
    read_model.catch_up()
    projected = dump(read_model)["rm_grants"]
    assert projected, "no evaluator holds a grant"

    downgrade(read_model.url, "0014")
    upgrade(read_model.url)
    assert dump(read_model)["rm_grants"] == projected


def _every_grouping(rows: list[Any]) -> bool:
    return {row[0] for row in rows} == {"country", "theme", "ecosystem", "organisation"}


# A running-count table a migration fills from what is already projected: the revision before it, the history's
# length, and what the projected rows must show for the comparison to mean something.
FILLED_BY_UPGRADE = {
    "rm_facet_counts": ("0019", 120, _every_grouping),
    "rm_facet_months": ("0021", 120, lambda rows: _every_grouping(rows) and len({row[2] for row in rows}) > 1),
    "rm_band_months": ("0022", 160, lambda rows: any(row[3] for row in rows)),  # some score was replaced
    "rm_group_months": ("0023", 160, _every_grouping),
}


@pytest.mark.parametrize("table", FILLED_BY_UPGRADE)
def test_running_counts_filled_by_their_upgrade_equal_the_projected_ones(read_model: ReadModel, table: str) -> None:
    before, steps, meaningful = FILLED_BY_UPGRADE[table]
    rng = random.Random(int(before) + 1)
    read_model.app.clock = Clock(rng)
    random_history(build_world(read_model.app), rng, steps=steps)
    read_model.catch_up()
    projected = dump(read_model)[table]
    assert meaningful(projected), table

    downgrade(read_model.url, before)
    upgrade(read_model.url)
    assert dump(read_model)[table] == projected


def test_cli_reports_status_and_lag_when_worker_is_not_running(empty_sqlite_url: str) -> None:
    env = os.environ | {"TRACKER_DATABASE_URL": empty_sqlite_url}

    def tracker(*args: str) -> str:
        done = subprocess.run(  # noqa: S603 - our own CLI
            [sys.executable, "-m", "cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=True
        )
        return done.stdout

    tracker("db", "upgrade")

    app = open_application(empty_sqlite_url)
    build_world(app)
    written = app.current_position()
    app.close()
    behind = tracker("projections", "status")
    assert [line.split() for line in behind.splitlines()[1:]] == [
        [n, "0", str(written), str(written)] for n in ("audit", "audit_chain", "directory", "portfolio")
    ]
    rebuilt = tracker("projections", "rebuild")
    assert f"rebuilt {written} events" in rebuilt
    caught_up = tracker("projections", "status")
    assert [line.split() for line in caught_up.splitlines()[1:]] == [
        [n, str(written), str(written), "0"] for n in ("audit", "audit_chain", "directory", "portfolio")
    ]


def test_an_upgrade_on_sqlite_is_not_failed_by_another_connection_writing_after_it_reads_its_revision(
    empty_sqlite_url: str,
) -> None:
    """Alembic reads the revision and then writes, in one transaction: on SQLite it must hold the write lock from its
    start, or another process's commit in between (a web process still running) fails the upgrade at once."""
    create_event_tables(empty_sqlite_url)
    upgrade(empty_sqlite_url, "0024")
    path = StoreConfig.from_url(empty_sqlite_url).path

    def reads_the_revision(statement: str) -> bool:
        return a_select(statement) and "alembic_version" in statement

    with another_writer(path, reads_the_revision, Engine) as interfered:
        upgrade(empty_sqlite_url)
    assert interfered == ["database is locked"]  # the other writer waited for the upgrade, not the reverse
    assert current_revision(empty_sqlite_url) == HEAD
