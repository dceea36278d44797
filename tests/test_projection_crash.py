"""The projection worker killed with SIGKILL at random points loses nothing and applies nothing twice."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from projections.dump import dump
from projections.read_model import ReadModel
from storage.application import open_application
from tests.readmodel import Clock, random_history
from tests.world import build_world

ROOT = Path(__file__).resolve().parent.parent
KILLS = 6


def start_worker(url: str) -> subprocess.Popen[bytes]:
    env = os.environ | {"TRACKER_DATABASE_URL": url, "TRACKER_PROJECTION_BATCH_SIZE": "3"}
    return subprocess.Popen(
        [sys.executable, "-m", "cli", "projections", "run", "--idle-wait", "0.05"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.postgres
@pytest.mark.slow
def test_worker_killed_repeatedly_leaves_tables_equal_to_a_clean_rebuild(postgres_url: str) -> None:
    from projections.migrate import upgrade
    from storage.schema import create_event_tables

    create_event_tables(postgres_url)
    upgrade(postgres_url)
    app = open_application(postgres_url)
    read_model = ReadModel(app, postgres_url)
    rng = random.Random(11)
    app.clock = Clock(rng)
    world = build_world(app)
    writing = threading.Event()
    writer = threading.Thread(
        target=random_history,
        args=(world, rng, 100_000),
        kwargs={"after_each": lambda: time.sleep(0.002), "stop": writing},
    )
    writer.start()
    progress: list[int] = []
    try:
        for _ in range(KILLS):
            worker = start_worker(postgres_url)
            started_from = read_model.position()
            deadline = time.monotonic() + 30
            while read_model.position() == started_from and time.monotonic() < deadline:
                time.sleep(0.01)  # kill only once this worker is busy applying batches
            time.sleep(rng.uniform(0, 0.4))
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
            assert writer.is_alive()
            progress.append(read_model.position())
        writing.set()
        writer.join()
        worker = start_worker(postgres_url)
        deadline = time.monotonic() + 60
        while read_model.position() < app.current_position() and time.monotonic() < deadline:
            time.sleep(0.05)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=10) == 0
        assert read_model.position() == app.current_position()
        assert len(set(progress)) == KILLS, f"some kills found the worker idle or not started: {progress}"
        assert progress[-1] < app.current_position()
        after_crashes = dump(read_model)
        read_model.rebuild()
        assert dump(read_model) == after_crashes
    finally:
        writing.set()
        writer.join()
        read_model.close()
        app.close()
