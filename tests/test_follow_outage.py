"""The projection worker rides out a database outage: it waits, with a growing pause, and carries on."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import OperationalError as StoreOperationalError
from sqlalchemy.exc import OperationalError

from projections import following
from projections.read_model import ReadModel
from tests.world import build_world

ROOT = Path(__file__).resolve().parent.parent


def test_follow_waits_out_an_outage_and_then_projects_everything(
    read_model: ReadModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_world(read_model.app)
    monkeypatch.setattr(following, "MAX_OUTAGE_WAIT", 0.02)
    real_catch_up = read_model.catch_up
    failures: list[Exception] = [
        OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly")),
        StoreOperationalError("connection refused"),
        psycopg.OperationalError("consuming input failed"),
    ]
    seen: list[tuple[str, float]] = []

    def flaky_catch_up(*args: Any, **kwargs: Any) -> int:
        if failures:
            raise failures.pop(0)
        applied = real_catch_up(*args, **kwargs)
        if applied == 0:
            read_model.stop()  # everything is projected: end the test's follower
        return applied

    monkeypatch.setattr(read_model, "catch_up", flaky_catch_up)
    # On PostgreSQL the follower also opens a LISTEN connection; the failures above come from catch-up either way.
    read_model.follow(idle_wait=0.01, on_outage=lambda error, pause: seen.append((type(error).__name__, pause)))
    assert [name for name, _ in seen] == ["OperationalError", "OperationalError", "OperationalError"]
    assert [pause for _, pause in seen] == [0.5, 0.02, 0.02]
    assert read_model.position() == read_model.app.current_position()


def test_follow_does_not_hide_other_errors(read_model: ReadModel, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("a bug in a handler")

    monkeypatch.setattr(read_model, "catch_up", broken)
    with pytest.raises(RuntimeError):
        read_model.follow(idle_wait=0.01)


def test_a_worker_started_while_the_database_is_down_waits_for_it_and_stops_on_sigterm() -> None:
    # Nothing listens on port 9 of the loopback interface: the database is "down" for the whole test.
    env = os.environ | {"TRACKER_DATABASE_URL": "postgresql://postgres@127.0.0.1:9/test"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "cli", "projections", "run"], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        assert worker.stderr is not None
        first = worker.stderr.readline()
        assert "the store is unavailable" in first
        assert worker.poll() is None  # still waiting for the database, not crashed
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            returncode = worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()  # not left running into the tests after this one
            worker.wait()
            raise
        finally:
            if worker.stderr is not None:
                worker.stderr.close()
    assert returncode == 0


def test_a_worker_stops_at_once_on_sigterm_when_the_database_accepts_connections_but_never_answers() -> None:
    # A socket that listens and never answers: each connection attempt hangs for the whole connect timeout, and
    # the connection pools wait for it (and for their workers when a failed attempt is collected).
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(100)
        port = silent.getsockname()[1]
        env = os.environ | {"TRACKER_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{port}/test"}
        worker = subprocess.Popen(
            [sys.executable, "-m", "cli", "projections", "run"],
            cwd=ROOT,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert worker.stderr is not None
            assert "the store is unavailable" in worker.stderr.readline()
            time.sleep(0.7)  # past the pause, into the next attempt
            worker.send_signal(signal.SIGTERM)
            # Waiting for the attempt in hand to time out took 15 s here; the stop does not wait for it.
            returncode = worker.wait(timeout=5)
            assert "stopped before following the event log" in worker.stderr.read()
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
            if worker.stderr is not None:
                worker.stderr.close()
    assert returncode == 0
