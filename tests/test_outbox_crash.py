"""The outbox worker killed with SIGKILL in the middle of a burst of 1,000 events: after a restart, every event is
delivered to every matching endpoint, none is lost, and any duplicate carries the same webhook-id and body."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bootstrap import build_services, upgrade_database
from outbox.tables import deliveries
from runtime.settings import Settings
from tests.receivers import Receiver, webhook_receiver
from tests.world import build_world
from tracker import event_types

ROOT = Path(__file__).resolve().parent.parent
BURST = 1000
pytestmark = pytest.mark.slow


def worker(url: str) -> subprocess.Popen[str]:
    env = os.environ | {
        "TRACKER_DATABASE_URL": url,
        "TRACKER_WEBHOOKS_ALLOW_PRIVATE": "1",
        "TRACKER_OUTBOX_LEASE_SECONDS": "14",
        "TRACKER_OUTBOX_SEND_TIMEOUT": "2",
        "TRACKER_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "cli", "outbox", "run"], cwd=ROOT, env=env, stderr=subprocess.DEVNULL, text=True
    )


def wait_until(done: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.parametrize("store", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_killed_worker_loses_nothing_and_repeats_only_with_the_same_id(
    request: pytest.FixtureRequest, store: str
) -> None:
    url = request.getfixturevalue(f"{store}_url")
    settings = Settings(database_url=url, inline_projections=False, inline_outbox=False, webhooks_allow_private=True)
    upgrade_database(settings)
    services = build_services(settings)
    processes: list[subprocess.Popen[str]] = []
    try:
        with webhook_receiver() as everything, webhook_receiver() as submissions:
            assert services.outbox is not None
            world = build_world(services.app)
            services.outbox.endpoints.create(url=everything.url, event_types=["*"], description=None, actor_id="t")
            services.outbox.endpoints.create(
                url=submissions.url, event_types=["innovation.submitted"], description=None, actor_id="t"
            )
            start = services.app.current_position()
            processes.append(worker(url))

            def burst() -> None:
                for i in range(BURST // 2):
                    iid = world.submit(title=f"Burst {i}")
                    world.app.start_pilot(
                        iid, actor=world.provider, site_organisation_id=world.site, started_on="2025-01-01"
                    )

            writing = threading.Thread(target=burst)
            writing.start()
            # Kill the worker once it is well into the burst.
            wait_until(lambda: len(everything.received) >= 150, 60, "the first deliveries")
            processes[0].send_signal(signal.SIGKILL)
            processes[0].wait()
            killed_after = len(everything.received)
            writing.join()
            assert killed_after < BURST, "the worker finished before it was killed"
            processes.append(worker(url))
            records = services.app.read_log(start, BURST + 10)
            assert len(records) == BURST
            expected_all = {str(event_types.event_id(r.aggregate_id, r.version)) for r in records}
            expected_submitted = {
                str(event_types.event_id(r.aggregate_id, r.version))
                for r in records
                if event_types.name_of_record(r) == "innovation.submitted"
            }
            wait_until(lambda: set(everything.ids()) >= expected_all, 120, "every event at the first endpoint")
            wait_until(lambda: set(submissions.ids()) >= expected_submitted, 60, "every submission at the second")
            for receiver, expected in ((everything, expected_all), (submissions, expected_submitted)):
                assert set(receiver.ids()) == expected
                same_id_same_body(receiver)
            outbox = services.outbox

            def statuses() -> dict[str, int]:
                with outbox.reader.connect() as conn:
                    query = select(deliveries.c.status, func.count()).group_by(deliveries.c.status)
                    return {status: count for status, count in conn.execute(query)}

            # The last answers are recorded just after they arrive; then every delivery is recorded once, succeeded.
            total = len(expected_all) + len(expected_submitted)
            wait_until(lambda: statuses() == {"succeeded": total}, 30, "every delivery recorded")
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        services.close()


def same_id_same_body(receiver: Receiver) -> None:
    """Each webhook-id received more than once came with the same event each time."""
    seen: dict[str, Any] = {}
    for received in receiver.received:
        data = received.json["data"]
        assert seen.setdefault(received.headers["webhook-id"], data) == data
