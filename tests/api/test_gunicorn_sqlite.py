"""Real gunicorn on SQLite: the worker projects in a thread of its own, a read sees the write before it, and SIGTERM
stops the thread and the worker cleanly."""

from __future__ import annotations

import json
import os
import runpy
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.api.test_gunicorn_e2e import ROOT, Http, cli, free_port, wait_until_serving

pytestmark = pytest.mark.slow


def sqlite_store(tmp_path: Path, port: int, *, workers: int, log_level: str) -> tuple[dict[str, str], str]:
    """The environment of gunicorn on a fresh SQLite store at `port` (SQLite's defaults otherwise: the web process
    projects), and an admin key for it."""
    env = os.environ | {
        "TRACKER_DATABASE_URL": f"sqlite:///{tmp_path}/tracker.db",
        "TRACKER_WORKERS": str(workers),
        "TRACKER_BIND": f"127.0.0.1:{port}",
        "TRACKER_LOG_LEVEL": log_level,
    }
    env.pop("TRACKER_INLINE_PROJECTIONS", None)
    cli(env, "db", "upgrade")
    return env, cli(env, "keys", "create", "--role", "admin", "--name", "sqlite-admin")


def gunicorn(env: dict[str, str], output: Any, *, app_logs: bool = False) -> subprocess.Popen[bytes]:
    """gunicorn with its log (and the app's JSON logs, with `app_logs`) written to `output`."""
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=output if app_logs else subprocess.DEVNULL,
        stderr=output,
    )


def test_a_sqlite_worker_reads_back_its_writes_and_exits_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    env, admin = sqlite_store(tmp_path, port, workers=1, log_level="WARNING")
    errors = tmp_path / "gunicorn.err"
    with errors.open("wb") as stderr:
        web = gunicorn(env, stderr)
        try:
            wait_until_serving(port)
            http = Http(f"http://127.0.0.1:{port}")
            status, headers, body = http.call(
                "POST",
                "/api/v1/organisations",
                admin,
                {"name": "Read back VET", "country": "PT", "kind": "vet_provider"},
            )
            assert status == 201, body
            position = int(headers["X-Event-Position"])
            status, headers, found = http.call("GET", f"/api/v1/organisations/{body['id']}", admin)  # no X-Min-Position
            assert status == 200, found
            assert found["name"] == "Read back VET"
            assert int(headers["X-Projection-Position"]) >= position
            # A restore is refused while the worker has the store open.
            busy = subprocess.run(  # noqa: S603 - our own command
                [sys.executable, "-m", "cli", "db", "restore", str(tmp_path / "tracker.db")],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert busy.returncode == 1
            assert "open (a web worker, or a `tracker` command)" in busy.stderr, busy.stderr
        finally:
            web.send_signal(signal.SIGTERM)
            exit_code = web.wait(timeout=20)
    assert exit_code == 0
    assert "Traceback" not in errors.read_text()
    # The worker closed its connections as it exited: the store is one file, whole, with no write-ahead log left.
    assert not (tmp_path / "tracker.db-wal").exists()
    table = cli(env, "projections", "status").splitlines()[1:]
    assert table
    assert all(line.split()[-1] == "0" for line in table), table  # nothing acknowledged was left unprojected


def test_a_worker_keeps_what_it_built_at_start_out_of_full_garbage_collections(tmp_path: Path) -> None:
    env = os.environ | {"TRACKER_DATABASE_URL": f"sqlite:///{tmp_path}/tracker.db", "TRACKER_LOG_LEVEL": "WARNING"}
    cli(env, "db", "upgrade")
    done = subprocess.run(
        [sys.executable, "-c", "import gc, wsgi; print(gc.get_freeze_count())"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(done.stdout.strip().splitlines()[-1]) > 10_000  # the app, its libraries and its schemas


def test_two_sqlite_workers_read_each_others_writes_and_one_of_them_follows_the_log(tmp_path: Path) -> None:
    port = free_port()
    env, admin = sqlite_store(tmp_path, port, workers=2, log_level="INFO")
    errors = tmp_path / "gunicorn.err"

    def followers() -> list[int]:
        """The pids of the workers that have taken up following the log, in order."""
        found = []
        for line in errors.read_text().splitlines():
            if '"follower_started"' in line:
                found.append(json.loads(line)["pid"])
        return found

    def write_then_read(n: int) -> None:
        # Each call is a connection of its own, so the read may reach the other worker than the write did.
        status, headers, body = http.call(
            "POST", "/api/v1/organisations", admin, {"name": f"Shared VET {n}", "country": "PT", "kind": "vet_provider"}
        )
        assert status == 201, body
        status, read_headers, found = http.call("GET", f"/api/v1/organisations/{body['id']}", admin)
        assert status == 200, (n, found)
        assert int(read_headers["X-Projection-Position"]) >= int(headers["X-Event-Position"])

    with errors.open("wb") as stderr:
        web = gunicorn(env, stderr, app_logs=True)
        try:
            wait_until_serving(port)
            http = Http(f"http://127.0.0.1:{port}")
            for n in range(30):
                write_then_read(n)
            assert len(followers()) == 1, "not exactly one worker follows the log"
            os.kill(followers()[0], signal.SIGKILL)
            deadline = time.monotonic() + 20
            while len(followers()) < 2:
                assert time.monotonic() < deadline, "no worker took over following the log"
                time.sleep(0.1)
            assert followers()[1] != followers()[0]
            for n in range(30, 40):
                write_then_read(n)
        finally:
            web.send_signal(signal.SIGTERM)
            web.wait(timeout=20)
    table = cli(env, "projections", "status").splitlines()[1:]
    assert all(line.split()[-1] == "0" for line in table), table


@pytest.mark.parametrize(
    ("url", "cores", "expected"),
    [
        ("sqlite:///var/tracker.db", 2, 2),
        ("sqlite:///var/tracker.db", 8, 2),
        ("sqlite:///var/tracker.db", 1, 1),
        ("postgresql://postgres@127.0.0.1:5432/test", 2, 4),
    ],
)
def test_gunicorn_defaults_to_two_workers_on_sqlite_where_there_are_two_cores_and_two_per_core_on_postgres(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, url: str, cores: int, expected: int
) -> None:
    """One process is bound by one core, so SQLite's default is two workers where there are two cores; PostgreSQL's
    is two per core."""
    monkeypatch.delenv("TRACKER_WORKERS", raising=False)
    # Set, so that the settings of several workers do not make a metrics directory of their own for this process.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    monkeypatch.setenv("TRACKER_DATABASE_URL", url)
    monkeypatch.setattr("multiprocessing.cpu_count", lambda: cores)
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert settings["workers"] == expected
