"""Real servers for benchmarks: gunicorn (and the projection worker) on loopback, with keys and a few organisations."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from bootstrap import build_services
from runtime.settings import Settings
from storage.config import StoreConfig
from tracker.actors import Actor

ROOT = Path(__file__).resolve().parent.parent
ADMIN = Actor("bench-admin", "admin")


@dataclass(frozen=True)
class Stack:
    base: str
    url: str
    provider_key: str
    evaluator_key: str
    analyst_key: str
    owner: str
    site: str
    web_pids: list[int]
    # Gate decisions and assignments are the manager's; the evaluator's person id is what assignments name.
    manager_key: str = ""
    evaluator_id: str = ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_process(process: subprocess.Popen[Any]) -> None:
    """SIGTERM, and SIGKILL after 20 s (a child is never left running)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def running_stack(
    url: str,
    *,
    workers: int | None = None,
    threads: int = 4,
    projection_worker: bool = True,
    wsgi_app: str = "wsgi:app",
    extra_env: dict[str, str] | None = None,
    web_log: Path | None = None,
) -> Iterator[Stack]:
    """gunicorn on a free loopback port, plus the projection and outbox workers on PostgreSQL (SQLite runs both
    in-process).

    With projection_worker=False the caller runs (and supervises) the projection worker itself. `wsgi_app` and
    `extra_env` let a benchmark serve an instrumented app (bench.tail). gunicorn's output (the app's JSON logs)
    goes to `web_log` where one is given (the soak keeps it), else nowhere."""
    services = build_services(Settings(database_url=url))
    app = services.app
    owner = app.register_organisation(
        actor=ADMIN, name="Bench owner VET", country="LT", kind="vet_provider"
    ).aggregate_id
    site = app.register_organisation(actor=ADMIN, name="Bench site VET", country="IT", kind="vet_provider").aggregate_id
    panel = app.register_organisation(actor=ADMIN, name="Bench panel", country="FI", kind="research").aggregate_id
    provider_key = services.keys.create(name="bench-provider", role="provider", organisation_id=owner)[0]
    evaluator_key, evaluator = services.keys.create(name="bench-evaluator", role="evaluator", organisation_id=panel)
    analyst_key = services.keys.create(name="bench-analyst", role="analyst")[0]
    manager_key = services.keys.create(name="bench-manager", role="manager")[0]
    services.read_model.catch_up()
    services.close()
    postgres = StoreConfig.from_url(url).kind == "postgresql"
    port = _free_port()
    env = (
        os.environ
        | (extra_env or {})
        | {
            "TRACKER_DATABASE_URL": url,
            "TRACKER_BIND": f"127.0.0.1:{port}",
            "TRACKER_THREADS": str(threads),
            "TRACKER_LOG_LEVEL": "WARNING",
            "TRACKER_INLINE_PROJECTIONS": "0" if postgres else "1",
            # The benchmarks' webhook receiver listens on the loopback interface.
            "TRACKER_WEBHOOKS_ALLOW_PRIVATE": "1",
        }
    )
    # Unless the caller asks for a number: TRACKER_WORKERS if set, else four on PostgreSQL and gunicorn.conf.py's
    # default on SQLite.
    if workers:
        env["TRACKER_WORKERS"] = str(workers)
    elif postgres and not os.environ.get("TRACKER_WORKERS"):
        env["TRACKER_WORKERS"] = "4"
    output = web_log.open("ab") if web_log is not None else None
    web = subprocess.Popen(  # noqa: S603 - our own module names
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", wsgi_app],
        cwd=ROOT,
        env=env,
        stdout=output or subprocess.DEVNULL,
        stderr=output or subprocess.DEVNULL,
    )
    if output is not None:
        output.close()  # the child holds its own copy
    follower = outbox = None
    if postgres and projection_worker:
        follower = subprocess.Popen(
            [sys.executable, "-m", "cli", "projections", "run", "--idle-wait", "0.5"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # On PostgreSQL the outbox (webhooks and e-mail) is a worker of its own too; on SQLite gunicorn runs it.
        outbox = subprocess.Popen(
            [sys.executable, "-m", "cli", "outbox", "run"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2):  # noqa: S310 - loopback
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        time.sleep(1)  # let every worker boot
        children = [child.pid for child in psutil.Process(web.pid).children()]
        yield Stack(
            base,
            url,
            provider_key,
            evaluator_key,
            analyst_key,
            str(owner),
            str(site),
            children,
            manager_key=manager_key,
            evaluator_id=str(evaluator.person_id),
        )
    finally:
        stop_process(web)
        for worker in (follower, outbox):
            if worker is not None:
                stop_process(worker)
