"""A process whose code is for another schema revision than the store's writes nothing to the read model.

A rolling deploy can leave a process of the earlier release running after `tracker db upgrade`; its projection would
go on writing rows by the rules the upgrade changed (projections.migrate.check_schema)."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from projections import deferred, migrate
from projections import tables as t
from projections.dump import dump
from projections.migrate import SchemaMismatch, code_revision
from projections.read_model import ReadModel
from tests.readmodel import Clock, age_records, earlier_revision, random_history, stamp
from tests.world import build_world

# A revision before this release's latest (every release knows its own history), and one no release of it knows.
EARLIER = earlier_revision()
LATER = "9999"
ROOT = Path(__file__).resolve().parent.parent


def history(read_model: ReadModel, seed: int) -> None:
    rng = random.Random(seed)
    read_model.app.clock = Clock(rng)
    random_history(build_world(read_model.app), rng, steps=40)


@pytest.mark.parametrize(
    ("revision", "says"),
    [
        (EARLIER, f"behind this release's {code_revision()}: run 'tracker db upgrade'"),
        (LATER, "which this release does not know"),
    ],
)
def test_a_batch_refuses_a_schema_at_another_revision_and_applies_nothing(
    read_model: ReadModel, revision: str, says: str
) -> None:
    history(read_model, seed=3)
    stamp(read_model, revision)
    assert read_model.schema_problem() is not None
    with pytest.raises(SchemaMismatch, match=re.escape(says)):
        read_model.catch_up()
    assert read_model.position() == 0
    assert read_model.reached == 0
    with read_model.reader.connect() as conn:
        assert conn.execute(select(t.innovations.c.id)).first() is None
        assert conn.execute(select(t.audit_chain.c.position)).first() is None

    stamp(read_model, code_revision())
    assert read_model.schema_problem() is None
    assert read_model.catch_up() == read_model.app.current_position()


def test_a_rebuild_refuses_a_schema_at_another_revision_and_leaves_the_tables_as_they_were(
    read_model: ReadModel,
) -> None:
    history(read_model, seed=4)
    read_model.catch_up()
    before = dump(read_model)
    stamp(read_model, LATER)
    with pytest.raises(SchemaMismatch, match="a later release has upgraded it"):
        read_model.rebuild()
    assert dump(read_model) == before
    assert read_model.position() == read_model.app.current_position()


def test_the_workers_and_the_cli_say_what_is_wrong_and_stop(sqlite_read_model: ReadModel) -> None:
    read_model = sqlite_read_model
    history(read_model, seed=5)
    stamp(read_model, LATER)
    env = os.environ | {"TRACKER_DATABASE_URL": read_model.url}

    def tracker(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - our own CLI
            [sys.executable, "-m", "cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )

    status = tracker("projections", "status")
    assert status.returncode == 0, status.stderr
    assert "nothing is projected by this release: the read model's schema is at revision 9999" in status.stdout
    for command in (("projections", "rebuild"), ("projections", "run")):
        done = tracker(*command)
        assert done.returncode == 1, (command, done.stderr)
        assert "Error: the read model's schema is at revision 9999, which this release does not know" in done.stderr
        assert "Traceback" not in done.stderr
    assert read_model.position() == 0


def test_a_refused_batch_is_refused_again_without_reading_the_log_until_the_schema_is_right(
    read_model: ReadModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    history(read_model, seed=6)
    stamp(read_model, EARLIER)

    def no_handlers(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the handlers ran against a schema of another release")

    with monkeypatch.context() as patched:
        patched.setattr(read_model, "_project", no_handlers)
        with pytest.raises(SchemaMismatch):
            read_model.catch_up()

    def no_batch() -> None:
        raise AssertionError("a batch ran while its refusal stood")

    with monkeypatch.context() as patched:
        patched.setattr(read_model, "_apply_batch_sqlite", no_batch)
        patched.setattr(read_model, "_apply_batch_postgres", no_batch)
        with pytest.raises(SchemaMismatch, match="behind this release's"):
            read_model.catch_up()
        # A read that waits for its writes answers at once from the read model as it is.
        assert read_model.wait_for(1, timeout=30) is False
        assert read_model.wait_for(0, timeout=30) is True
    stamp(read_model, code_revision())
    assert read_model.schema_problem() is None
    assert read_model.catch_up() == read_model.app.current_position()


def test_a_batch_that_meets_an_upgrade_in_progress_waits_for_it_and_then_refuses(
    read_model: ReadModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL a batch reads under READ COMMITTED: without the upgrade locking the tracking tables, a batch
    begun while it ran would read the old revision and write once it had committed."""
    history(read_model, seed=7)
    migrating, finish = threading.Event(), threading.Event()

    def migration(config: Any, revision: str) -> None:
        conn = config.attributes["connection"]
        conn.execute(text("UPDATE alembic_version SET version_num = :revision"), {"revision": LATER})
        migrating.set()
        finish.wait(30)
        # A migration that alters the tracking table, with a batch waiting: neither may deadlock with the other.
        conn.execute(text("ALTER TABLE rm_tracking ADD COLUMN probe INTEGER"))
        conn.execute(text("ALTER TABLE rm_tracking DROP COLUMN probe"))

    monkeypatch.setattr(migrate.command, "upgrade", migration)
    failed: list[BaseException] = []

    def upgrade() -> None:
        try:
            # Named, the head is migrated to even where the schema is there (as "head", it is left alone).
            migrate.upgrade(read_model.url, code_revision())
        except BaseException as error:
            failed.append(error)

    upgrading = threading.Thread(target=upgrade)
    upgrading.start()
    assert migrating.wait(30)
    outcome: list[object] = []

    def batch() -> None:
        try:
            outcome.append(read_model.catch_up())
        except Exception as error:
            outcome.append(error)

    batching = threading.Thread(target=batch)
    batching.start()
    batching.join(0.5)
    assert batching.is_alive(), f"the batch did not wait for the upgrade: {outcome}"
    finish.set()
    upgrading.join(30)
    batching.join(30)
    assert failed == []
    assert len(outcome) == 1
    assert isinstance(outcome[0], SchemaMismatch), outcome
    assert read_model.position() == 0


def test_a_rebuild_refused_part_way_leaves_its_end_to_a_process_of_the_schemas_release(
    read_model: ReadModel,
) -> None:
    history(read_model, seed=8)
    read_model.catch_up()
    expected = dump(read_model)
    read_model.rebuild_batch_size = 5

    def upgraded_meanwhile(done: int, total: int) -> None:
        stamp(read_model, LATER)

    with pytest.raises(SchemaMismatch):
        read_model.rebuild(upgraded_meanwhile)
    with read_model.reader.connect() as conn:
        left = [name for name, _ in deferred.records(conn)]
    assert deferred.COUNTS in left
    assert len(left) > 1, "the dropped indexes were built again"

    stamp(read_model, code_revision())
    assert read_model.schema_problem() is None
    age_records(read_model)
    read_model.catch_up()  # finishes what the rebuild left, then projects the rest
    with read_model.reader.connect() as conn:
        assert deferred.records(conn) == []
    assert dump(read_model) == expected


def test_a_projection_worker_started_before_the_upgrade_waits_for_it(sqlite_read_model: ReadModel) -> None:
    read_model = sqlite_read_model
    history(read_model, seed=9)
    stamp(read_model, EARLIER)
    env = os.environ | {"TRACKER_DATABASE_URL": read_model.url}
    with subprocess.Popen(
        [sys.executable, "-m", "cli", "projections", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as worker:
        try:
            assert worker.stderr is not None
            line = worker.stderr.readline()
            while line.startswith("following the event log"):
                line = worker.stderr.readline()
            assert f"the read model's schema is at revision {EARLIER}" in line
            assert "trying again in" in line
            assert worker.poll() is None, "the worker gave up instead of waiting for the upgrade"
            assert read_model.position() == 0
            # The upgrade: the worker projects everything on its next try.
            stamp(read_model, code_revision())
            deadline = time.monotonic() + 30
            while read_model.position() < read_model.app.current_position() and time.monotonic() < deadline:
                time.sleep(0.1)
            assert read_model.position() == read_model.app.current_position()
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(30)
