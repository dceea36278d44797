"""`tracker db backup` and `tracker db restore` on SQLite: a backup taken while the store is in use, and a restore
through SQLite that leaves a store which verifies at the backup's head, never one corrupted by a write-ahead log left
beside it; refused while a web process serves the store, and for a file that is not a tracker store."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bootstrap import build_services
from cli.main import main
from runtime.settings import Settings
from storage.locks import StoreOpen
from tests.api.conftest import make_env, submit


def tracker(url: str, *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"TRACKER_DATABASE_URL": url})


def test_a_restore_brings_back_the_backup_whole_and_verifiable(sqlite_url: str, tmp_path: Path) -> None:
    env = make_env(sqlite_url)
    services = env.app.extensions["tracker"]
    try:
        submit(env, title="Before the backup")
        backup_file = str(tmp_path / "backup.db")
        taken = tracker(sqlite_url, "db", "backup", backup_file)
        assert taken.exit_code == 0, taken.output
        kept = services.app.current_position()
        assert f"up to position {kept}" in taken.output
        head = tracker(sqlite_url, "audit", "head").output.split()
        submit(env, title="After the backup")
        latest = services.app.current_position()
        assert latest > kept
        again = tracker(sqlite_url, "db", "backup", backup_file)
        assert again.exit_code != 0
        assert "exists already" in again.output
        path = sqlite_url[len("sqlite:///") :]
        log = Path(f"{path}-wal").read_bytes()
        assert log  # the newest writes are in the write-ahead log
    finally:
        services.close()
    # What a server killed before it closed its connections leaves beside the store: that log. SQLite applies it to
    # whatever file it finds, so a backup copied over the store with `cp` is corrupted or rolled forward again.
    Path(f"{path}-wal").write_bytes(log)

    # While a process has the store open (as each web worker and `tracker` command holds it), nothing is restored.
    holder = StoreOpen(path)
    holder.hold()
    try:
        busy = tracker(sqlite_url, "db", "restore", backup_file)
    finally:
        holder.release()
    assert busy.exit_code == 1
    assert "open (a web worker, or a `tracker` command)" in busy.output, busy.output

    restored = tracker(sqlite_url, "db", "restore", backup_file)
    assert restored.exit_code == 0, restored.output
    beside = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("backup.db"))
    assert beside == ["backup.db"]  # no write-ahead files left beside the backup
    assert f"up to position {kept}" in restored.output
    # The store as it was is kept beside it, whole: a restore of the wrong backup loses nothing.
    before = next(Path(path).parent.glob("tracker.db.before-restore-*"))
    assert str(before) in restored.output
    with closing(sqlite3.connect(before)) as conn:
        assert conn.execute("SELECT MAX(rowid) FROM stored_events").fetchone() == (latest,)
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert tracker(sqlite_url, "db", "upgrade").exit_code == 0
    verified = tracker(sqlite_url, "audit", "verify", "--position", head[0], "--hash", head[1])
    assert verified.exit_code == 0, verified.output
    after = build_services(Settings(database_url=sqlite_url))
    try:
        assert after.app.current_position() == kept
        after.read_model.catch_up()
        titles = {row["title"] for row in after.read_model.reader.connect().execute(_titles()).mappings()}
        assert titles == {"Before the backup"}
    finally:
        after.close()


def test_a_file_that_is_not_a_tracker_store_is_refused_and_changes_nothing(sqlite_url: str, tmp_path: Path) -> None:
    env = make_env(sqlite_url)
    try:
        submit(env)
    finally:
        env.app.extensions["tracker"].close()
    before = tracker(sqlite_url, "audit", "head").output
    stranger = tmp_path / "notes.db"
    with closing(sqlite3.connect(stranger)) as conn, conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
    # Another program on the same event-sourcing library: an events table, and none of the tracker's own.
    lookalike = tmp_path / "other.db"
    with closing(sqlite3.connect(lookalike)) as conn, conn:
        conn.execute(
            "CREATE TABLE stored_events (originator_id TEXT, originator_version INTEGER, topic TEXT, state BLOB)"
        )
        conn.execute("INSERT INTO stored_events VALUES ('x', 1, 't', x'00')")
    text = tmp_path / "notes.txt"
    text.write_text("not a database at all " * 100)
    for source in (stranger, lookalike, text):
        refused = tracker(sqlite_url, "db", "restore", str(source))
        assert refused.exit_code != 0
        assert "is not a tracker store" in refused.output, refused.output
    assert tracker(sqlite_url, "audit", "head").output == before


def test_a_backup_of_a_store_that_is_not_there_makes_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "mistyped.db"
    target = tmp_path / "backup.db"
    refused = tracker(f"sqlite:///{missing}", "db", "backup", str(target))
    assert refused.exit_code != 0
    assert f"{missing} is not a tracker store" in refused.output
    assert not missing.exists()
    assert not target.exists()


def test_an_upgrade_holds_the_store_open_so_no_restore_runs_under_it(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bootstrap import upgrade_database
    from projections import migrate

    path = sqlite_url[len("sqlite:///") :]
    seen: list[bool] = []
    migrating = migrate.upgrade

    def upgrade(url: str) -> None:
        with StoreOpen(path).alone() as alone:  # what `tracker db restore` asks first
            seen.append(alone)
        migrating(url)

    monkeypatch.setattr(migrate, "upgrade", upgrade)
    upgrade_database(Settings(database_url=sqlite_url))
    assert seen == [False]
    with StoreOpen(path).alone() as alone:
        assert alone  # and lets go when it is done


def test_backup_and_restore_are_for_sqlite(postgres_url: str, tmp_path: Path) -> None:
    for args in (("backup", str(tmp_path / "x.db")), ("restore", __file__)):
        refused = tracker(postgres_url, "db", *args)
        assert refused.exit_code == 1
        assert "SQLite store only" in refused.output


def _titles() -> object:
    from sqlalchemy import select

    from projections import tables

    return select(tables.innovations.c.title)
