"""One soak run: the stack, the load, the faults on a schedule, then the checks."""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import random
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID

import psutil

from bench.common import fresh_store
from bench.outbox import add_endpoint
from bench.receiver import Receiver, webhook_receiver
from bench.stack import ADMIN, Stack, running_stack
from bootstrap import build_services, open_application
from projections.read_model import ReadModel
from runtime.settings import Settings
from soak.client import Cast, Key
from soak.faults import GunicornWorkers, Outage, WorkerProcess, ensure_postgres_running, restart_postgres
from soak.ledger import Ledger, Write
from soak.load import Client, run_clients
from soak.portfolio import Portfolio
from soak.verify import LedgerCheck, check_ledger, compare_with_rebuild
from tracker import event_types
from tracker.application import TrackerApplication


@dataclass(frozen=True)
class Options:
    duration: float = 180.0
    workers: int = 3
    threads: int = 4
    clients: int = 6
    kill_every: float = 4.0
    projection_every: float = 20.0
    outage: float = 6.0
    outbox_every: float = 25.0
    seed: int = 1


@dataclass
class Report:
    options: Options
    seconds: float = 0.0
    writes: list[Write] = field(default_factory=list)
    reads: Counter[int | None] = field(default_factory=Counter)
    client_errors: list[str] = field(default_factory=list)
    workers_killed: int = 0
    workers_died_unasked: int = 0
    master_survived: bool = False
    projection_kills: int = 0
    projection_exits_unasked: list[int] = field(default_factory=list)
    outage: Outage | None = None
    outage_load: Counter[int | None] = field(default_factory=Counter)
    load_503_outside_outage: int = 0
    caught_up: bool = False
    outbox_kills: int = 0
    outbox_exits_unasked: list[int] = field(default_factory=list)
    # Webhook deliveries: the events the receiver should have (every one stored after its endpoint was made), those
    # it answered 2xx at least once, those it never did, and how many it was sent in all (with retries and repeats).
    webhooks_expected: int = 0
    webhooks_received: int = 0
    webhooks_lost: int = 0
    webhooks_sent: int = 0
    webhooks_refused: int = 0
    ledger: LedgerCheck = field(default_factory=LedgerCheck)
    differing_rows: dict[str, int] = field(default_factory=dict)
    table_rows: dict[str, int] = field(default_factory=dict)
    logs: Path = Path()

    @property
    def acknowledged(self) -> int:
        return sum(w.acknowledged for w in self.writes)

    @property
    def refused(self) -> Counter[int]:
        return Counter(w.status for w in self.writes if w.status is not None and not w.acknowledged)

    @property
    def unknown(self) -> int:
        return sum(w.status is None for w in self.writes)

    @property
    def mismatches(self) -> int:
        return sum(self.differing_rows.values())

    def failures(self) -> list[str]:
        """Every way this run broke the guarantees; empty when it kept them all."""
        found: list[str] = []
        if self.ledger.lost:
            found.append(f"{len(self.ledger.lost)} acknowledged writes are not in the event store as acknowledged")
        if self.ledger.duplicates:
            found.append(f"{len(self.ledger.duplicates)} requests were stored more than once")
        refused_4xx = {s: n for s, n in self.ledger.refused_stored.items() if 400 <= s < 500}
        if refused_4xx:
            found.append(f"writes refused with {refused_4xx} were stored all the same")
        if not self.caught_up:
            found.append("the projection worker never caught up with the event log")
        elif self.mismatches or not self.differing_rows:
            found.append(f"read models differ from a clean rebuild: {self.differing_rows or 'not compared'}")
        server_errors = Counter(
            s for s in [*(w.status for w in self.writes), *self.reads.elements()] if s is not None and s >= 500
        )
        server_errors.pop(503, None)
        if server_errors:
            found.append(f"server errors other than 503: {dict(server_errors)}")
        if self.outage is None:
            if self.options.outage > 0:
                found.append("PostgreSQL was never restarted")
        else:
            wrong = {s: n for s, n in self.outage.probes.items() if s != 503}
            if wrong or not self.outage.probes:
                found.append(f"while PostgreSQL was down the API answered {dict(self.outage.probes)}, not only 503")
            if self.outage.recovered_after_s is None:
                found.append("the API did not recover by itself after PostgreSQL came back")
        if self.webhooks_lost or not self.webhooks_expected:
            found.append(
                f"{self.webhooks_lost:,} of {self.webhooks_expected:,} events never reached the webhook receiver"
            )
        if not self.master_survived:
            found.append("the gunicorn master did not survive")
        if self.client_errors:
            found.append(f"the load generator failed {len(self.client_errors)} times: {self.client_errors[:3]}")
        if not self.acknowledged:
            found.append("no write was acknowledged, so the run proved nothing")
        return found


def _make_cast(stack: Stack) -> Cast:
    """Keys for the load: the owner's provider, the adopting site's provider, three evaluators, an analyst and a
    manager, each a person (named after the key) whose id the events carry."""
    services = build_services(Settings(database_url=stack.url))
    try:

        def key(name: str, role: str, organisation: UUID | None = None) -> Key:
            token, info = services.keys.create(name=name, role=role, organisation_id=organisation)
            return Key(token, str(info.person_id))

        panels = [
            services.app.register_organisation(actor=ADMIN, name=f"Soak panel {n}", country=c, kind="research")
            for n, c in ((1, "FI"), (2, "DE"), (3, "EL"))
        ]
        return Cast(
            provider=key("soak-provider", "provider", UUID(stack.owner)),
            site_provider=key("soak-site-provider", "provider", UUID(stack.site)),
            site=stack.site,
            evaluators=tuple(key(f"soak-evaluator-{n}", "evaluator", p.aggregate_id) for n, p in enumerate(panels, 1)),
            analyst=key("soak-analyst", "analyst"),
            manager=key("soak-manager", "manager"),
        )
    finally:
        services.close()


def _wait_caught_up(app: TrackerApplication, url: str, projection: WorkerProcess, timeout: float) -> bool:
    model = ReadModel(app, url, pool_size=1)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            projection.supervise()
            if model.position() >= app.current_position():
                return True
            time.sleep(0.2)
        return False
    finally:
        model.close()


def _drive(
    stack: Stack, cast: Cast, projection: WorkerProcess, outbox: WorkerProcess, options: Options, report: Report
) -> None:
    """Run the load for the duration while injecting the faults on their schedule."""
    rng = random.Random(options.seed)  # noqa: S311 - the fault schedule, not security
    ledger, probes, portfolio = Ledger(), Ledger(), Portfolio()
    master = psutil.Process(stack.web_pids[0]).ppid()
    workers = GunicornWorkers(master, rng)
    prober = Client(stack.base, cast, probes, portfolio, seed=options.seed, timeout=15, keep_alive=False)
    probe_calls = itertools.cycle([prober.probe_read, prober.submit])

    def recovered() -> bool:
        return prober.probe_read() == 200 and prober.submit() == 201

    stop = threading.Event()
    threads = run_clients(stack.base, cast, ledger, portfolio, clients=options.clients, seed=options.seed, stop=stop)
    started = time.monotonic()
    timeline = (report.logs / "timeline.txt").open("w")

    def note(what: str) -> None:
        timeline.write(f"{time.time():.3f} +{time.monotonic() - started:7.2f}s {what}\n")
        timeline.flush()

    next_kill = started + options.kill_every * rng.uniform(0.5, 1.5)
    next_projection_kill = started + options.projection_every * rng.uniform(0.5, 1.5)
    next_outbox_kill = started + options.outbox_every * rng.uniform(0.5, 1.5)
    outage_at = started + options.duration * 0.45
    try:
        while (now := time.monotonic()) < started + options.duration:
            workers.watch()
            exits = len(projection.unplanned_exits)
            projection.supervise()
            if len(projection.unplanned_exits) > exits:
                note(f"projection worker had exited by itself ({projection.unplanned_exits[-1]}); restarted")
            if now >= next_kill:
                if (pid := workers.kill_one()) is not None:
                    report.workers_killed += 1
                    note(f"SIGKILL gunicorn worker {pid}")
                next_kill = now + options.kill_every * rng.uniform(0.5, 1.5)
            if now >= next_projection_kill:
                projection.kill()
                note("SIGKILL projection worker")
                time.sleep(rng.uniform(0.2, 2.0))
                projection.start()
                note("projection worker started")
                next_projection_kill = time.monotonic() + options.projection_every * rng.uniform(0.5, 1.5)
            exits = len(outbox.unplanned_exits)
            outbox.supervise()
            if len(outbox.unplanned_exits) > exits:
                note(f"outbox worker had exited by itself ({outbox.unplanned_exits[-1]}); restarted")
            if now >= next_outbox_kill:
                outbox.kill()
                note("SIGKILL outbox worker")
                time.sleep(rng.uniform(0.2, 2.0))
                outbox.start()
                note("outbox worker started")
                next_outbox_kill = time.monotonic() + options.outbox_every * rng.uniform(0.5, 1.5)
            if options.outage > 0 and report.outage is None and now >= outage_at:
                note("stopping PostgreSQL")
                report.outage = restart_postgres(options.outage, lambda: next(probe_calls)(), recovered)
                note(f"PostgreSQL back; API recovered after {report.outage.recovered_after_s} s")
            time.sleep(0.1)
    finally:
        timeline.close()
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        ensure_postgres_running()
    report.seconds = time.monotonic() - started
    workers.watch()
    report.workers_died_unasked = len(workers.unplanned)
    report.master_survived = workers.master_alive() and master in {p.pid for p in psutil.Process().children()}
    report.projection_kills = projection.kills
    report.outbox_kills = outbox.kills
    load = ledger.snapshot()
    report.writes = load + probes.snapshot()
    report.reads = ledger.reads + probes.reads
    report.client_errors = ledger.client_errors
    with (report.logs / "ledger.jsonl").open("w") as out:
        for write in report.writes:
            out.write(json.dumps(dataclasses.asdict(write)) + "\n")
    if report.outage is not None:
        window = (report.outage.stop_issued, report.outage.up_from)
        inside = [window[0] <= w.answered_at <= window[1] for w in load]
        report.outage_load = Counter(w.status for w, i in zip(load, inside, strict=True) if i)
        report.load_503_outside_outage = sum(w.status == 503 and not i for w, i in zip(load, inside, strict=True))


def run(options: Options) -> Report:
    """A whole soak on a fresh PostgreSQL schema (dropped afterwards); the report holds every figure."""
    report = Report(options, logs=Path(tempfile.mkdtemp(prefix="tracker-soak-")))
    ensure_postgres_running()
    with (
        fresh_store("postgresql") as url,
        running_stack(
            url,
            workers=options.workers,
            threads=options.threads,
            projection_worker=False,
            web_log=report.logs / "web.log",
        ) as stack,
        webhook_receiver() as receiver,
    ):
        cast = _make_cast(stack)
        starts_after = add_endpoint(url, receiver)
        rng = random.Random(options.seed + 1)  # noqa: S311 - the receiver's failures, not security
        # The receiver fails now and then, so retries are part of the run: one event in a hundred gets a 503 the
        # first time it comes (its retry, five seconds on, is taken; a second failure would wait five minutes).
        refused: set[str] = set()

        def choose(webhook_id: str) -> tuple[int, dict[str, str], float]:
            if webhook_id not in refused and rng.random() < 0.01:
                refused.add(webhook_id)
                return 503, {"Retry-After": "1"}, 0.0
            return 200, {}, 0.0

        receiver.choose = choose
        env = os.environ | {
            "TRACKER_DATABASE_URL": url,
            "TRACKER_INLINE_PROJECTIONS": "0",
            "TRACKER_LOG_LEVEL": "WARNING",
            "TRACKER_WEBHOOKS_ALLOW_PRIVATE": "1",
            # Claims of a killed outbox worker lapse soon; the receiver on loopback answers within the send timeout.
            "TRACKER_OUTBOX_LEASE_SECONDS": "15",
            "TRACKER_OUTBOX_SEND_TIMEOUT": "2",
        }
        projection = WorkerProcess(env, report.logs, ("projections", "run", "--idle-wait", "0.5"), "projection-worker")
        outbox = WorkerProcess(env, report.logs, ("outbox", "run"), "outbox-worker")
        projection.start()
        outbox.start()
        try:
            _drive(stack, cast, projection, outbox, options, report)
            app = open_application(url, pool_size=2)
            try:
                report.caught_up = _wait_caught_up(app, url, projection, timeout=180)
                report.projection_exits_unasked = list(projection.unplanned_exits)
                report.ledger = check_ledger(app, report.writes)
                if report.caught_up:
                    report.differing_rows, report.table_rows = compare_with_rebuild(app, url)
                _count_webhooks(app, starts_after, receiver, outbox, report)
            finally:
                app.close()
        finally:
            projection.stop()
            outbox.stop()
    return report


def _count_webhooks(
    app: TrackerApplication, starts_after: int, receiver: Receiver, outbox: WorkerProcess, report: Report
) -> None:
    """Wait (up to 5 minutes) until the receiver has accepted every event stored after its endpoint was made, then
    count what it was sent, what it accepted and what never reached it."""
    expected: set[str] = set()
    position = starts_after
    while records := app.read_log(position, 1000):
        expected |= {str(event_types.event_id(r.aggregate_id, r.version)) for r in records}
        position = records[-1].position
    deadline = time.monotonic() + 300
    while not expected <= receiver.accepted() and time.monotonic() < deadline:
        outbox.supervise()
        time.sleep(0.5)
    report.outbox_exits_unasked = list(outbox.unplanned_exits)
    accepted = receiver.accepted()
    report.webhooks_expected = len(expected)
    report.webhooks_received = len(expected & accepted)
    report.webhooks_lost = len(expected - accepted)
    report.webhooks_sent = len(receiver.received)
    report.webhooks_refused = sum(not 200 <= r.status < 300 for r in receiver.received)
