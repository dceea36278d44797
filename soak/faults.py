"""Injected faults: SIGKILL a gunicorn worker, kill and restart the projection worker, restart PostgreSQL."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent


class GunicornWorkers:
    """gunicorn's workers under one master: kill one at random, and notice workers that died unasked."""

    def __init__(self, master_pid: int, rng: random.Random) -> None:
        self.master = psutil.Process(master_pid)
        self.rng = rng
        self.killed: set[int] = set()
        self.seen: set[int] = set()
        self.unplanned: set[int] = set()
        self.watch()

    def pids(self) -> set[int]:
        try:
            return {child.pid for child in self.master.children()}
        except psutil.Error:
            return set()

    def watch(self) -> None:
        """Record workers that disappeared without being killed here (crashed, or timed out by the master)."""
        current = self.pids()
        self.unplanned |= self.seen - current - self.killed
        self.seen = current

    def kill_one(self) -> int | None:
        self.watch()
        if not self.seen:
            return None
        pid = self.rng.choice(sorted(self.seen))
        self.killed.add(pid)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return None
        return pid

    def master_alive(self) -> bool:
        return self.master.is_running() and self.master.status() != psutil.STATUS_ZOMBIE


class WorkerProcess:
    """A `tracker` worker (`projections run`, `outbox run`) as a supervised child: killed on purpose, restarted, and
    restarted if it exits."""

    def __init__(self, env: dict[str, str], log_dir: Path, command: tuple[str, ...], name: str) -> None:
        self.env = env
        self.log_dir = log_dir
        self.command = command
        self.name = name
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.kills = 0
        self.unplanned_exits: list[int] = []

    def start(self) -> None:
        self.starts += 1
        log = (self.log_dir / f"{self.name}-{self.starts}.log").open("wb")
        with log:
            self.process = subprocess.Popen(  # noqa: S603 - our own CLI, with arguments of our own
                [sys.executable, "-m", "cli", *self.command],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        if self.alive():
            assert self.process is not None
            self.process.kill()
            self.process.wait()
            self.kills += 1

    def supervise(self) -> None:
        """Restart the worker if it exited by itself, as a service manager would, and note the exit."""
        if self.process is not None and not self.alive():
            self.unplanned_exits.append(self.process.returncode)
            self.start()

    def stop(self) -> None:
        if self.alive():
            assert self.process is not None
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Outage:
    """PostgreSQL stopped and started again while the API kept serving."""

    stop_issued: float = 0.0  # wall clock
    down_from: float = 0.0  # PostgreSQL confirmed stopped
    down_until: float = 0.0  # start issued
    up_from: float = 0.0  # PostgreSQL started again
    probes: Counter[int | None] = field(default_factory=Counter)
    slowest_probe_s: float = 0.0
    recovered_after_s: float | None = None  # from PostgreSQL's start until a read and a write both succeeded


def postgres_cluster() -> tuple[str, str]:
    """The local cluster's version and name (pg_ctlcluster's arguments)."""
    versions = sorted(os.listdir("/etc/postgresql"), key=lambda v: [int(p) for p in v.split(".") if p.isdigit()])
    return versions[-1], "main"


def pg_ctl(action: str) -> None:
    version, name = postgres_cluster()
    extra = ["-m", "fast"] if action == "stop" else []
    subprocess.run(  # noqa: S603 - fixed arguments
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, name, action, *extra],  # noqa: S607
        check=True,
        capture_output=True,
        timeout=120,
    )


def postgres_running() -> bool:
    version, name = postgres_cluster()
    done = subprocess.run(  # noqa: S603 - fixed arguments
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "status"],  # noqa: S607
        capture_output=True,
        timeout=30,
        check=False,
    )
    return done.returncode == 0


def ensure_postgres_running() -> None:
    if not postgres_running():
        pg_ctl("start")


def restart_postgres(
    hold: float,
    probe: Callable[[], int | None],
    recovered: Callable[[], bool],
    *,
    recovery_timeout: float = 60.0,
) -> Outage:
    """Stop PostgreSQL, probe the API for `hold` seconds, start it, then wait for the API to recover by itself."""
    outage = Outage(stop_issued=time.time())
    pg_ctl("stop")
    outage.down_from = time.time()
    try:
        while time.time() - outage.down_from < hold:
            started = time.monotonic()
            outage.probes[probe()] += 1
            outage.slowest_probe_s = max(outage.slowest_probe_s, time.monotonic() - started)
            time.sleep(0.2)
    finally:
        outage.down_until = time.time()
        pg_ctl("start")
        outage.up_from = time.time()
    up = time.monotonic()
    while time.monotonic() - up < recovery_timeout:
        if recovered():
            outage.recovered_after_s = time.monotonic() - up
            break
        time.sleep(0.25)
    return outage
