"""A process whose code is for another schema revision than the store's writes nothing to the read model.

A rolling deploy can leave a process of the earlier release running after `tracker db upgrade`; its projection would
go on writing rows by the rules the upgrade changed (projections.migrate.check_schema)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from projections import tables as t
from projections.dump import dump
from projections.migrate import SchemaMismatch, code_revision
from projections.read_model import ReadModel
from tests.readmodel import Clock, random_history, stamp
from tests.world import build_world

# A revision before this release's latest (every release knows its own history), and one no release of it knows.
EARLIER = f"{int(code_revision()) - 1:04d}"
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
    with pytest.raises(SchemaMismatch, match=says.replace("(", r"\(").replace(")", r"\)")):
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
