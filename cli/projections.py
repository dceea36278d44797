"""`tracker projections`: the projection worker's process (run), rebuild and status."""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from bootstrap import build_application, build_read_model, open_event_log
from cli.common import configuration_errors
from projections import audit_chain, deferred
from projections.following import FOLLOW_SETTLE, MAX_OUTAGE_WAIT, STORE_UNAVAILABLE
from projections.migrate import SchemaMismatch
from projections.read_model import ReadModel
from runtime.settings import Settings


@click.group("projections")
def projections() -> None:
    """The SQL read models built from the event log."""


@contextmanager
def _read_model() -> Iterator[ReadModel]:
    with configuration_errors():
        settings = Settings.from_env()
        app = build_application(settings)
    read_model = build_read_model(settings, app)
    try:
        yield read_model
    finally:
        read_model.close()
        app.close()


@projections.command("run")
@click.option("--idle-wait", default=1.0, show_default=True, help="Seconds between checks when nothing arrives.")
@click.option(
    "--settle",
    default=FOLLOW_SETTLE,
    show_default=True,
    help="Seconds a notification waits for more commits to join its batch (PostgreSQL).",
)
def projections_run(idle_wait: float, settle: float) -> None:
    """Follow the event log and keep the read model up to date, until stopped (SIGTERM or Ctrl-C).

    A worker started while the database is down waits for it, and one running through an outage carries on."""
    stopping = threading.Event()
    following: list[ReadModel] = []

    def stop(*_: Any) -> None:
        stopping.set()
        if following:
            following[0].stop()  # ends after the batch in hand, with its position saved
        else:
            # Starting up or waiting out an outage: the connection pools' waits for the database (and their closing
            # when a failed attempt is collected) do not look at `stopping`, and can hold the worker for many
            # seconds. Nothing is being written outside follow(), so the worker may end here and now.
            click.echo("stopped before following the event log", err=True)
            sys.stderr.flush()
            os._exit(0)

    def outage(error: Exception, pause: float) -> None:
        click.echo(f"the store is unavailable ({type(error).__name__}); trying again in {pause:.1f}s", err=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    pause = 0.5
    while not stopping.is_set():
        try:
            with _read_model() as read_model:
                click.echo(f"following the event log from position {read_model.position()}", err=True)
                # What was built so far lives as long as the worker: out of the full collections' way (see wsgi.py).
                gc.collect()
                gc.freeze()
                following[:] = [read_model]
                if stopping.is_set():
                    return
                try:
                    _follow_at_the_schemas_revision(read_model, stopping, idle_wait, settle, outage)
                finally:
                    following.clear()
                click.echo(f"stopped at position {read_model.position()}", err=True)
                return
        except STORE_UNAVAILABLE as error:
            outage(error, pause)
            stopping.wait(pause)
            pause = min(pause * 2, MAX_OUTAGE_WAIT)


def _follow_at_the_schemas_revision(
    read_model: ReadModel,
    stopping: threading.Event,
    idle_wait: float,
    settle: float,
    outage: Callable[[Exception, float], None],
) -> None:
    """Follow the log until stopped. At an earlier revision of the schema than this release's (an upgrade not yet
    run: a worker of the new release started first) wait for the upgrade, looking every MAX_OUTAGE_WAIT seconds; at
    a later release's, stop with the reason: this process is to be replaced by that release."""
    while True:
        try:
            read_model.follow(idle_wait=idle_wait, settle=settle, on_outage=outage)
            return
        except SchemaMismatch as error:
            if error.later:
                raise click.ClickException(str(error)) from error
            click.echo(f"{error}; trying again in {MAX_OUTAGE_WAIT:.0f}s", err=True)
            while not stopping.wait(MAX_OUTAGE_WAIT):
                if read_model.schema_problem() is None:
                    break
            if stopping.is_set():
                return


@projections.command("rebuild")
@click.option(
    "--force",
    is_flag=True,
    help="Rebuild even where the stored events no longer match the audit chain: the chain is then made anew from "
    "the events as they are, and the mismatch is no longer shown by `tracker audit verify` without a published head.",
)
def projections_rebuild(force: bool) -> None:
    """Empty the read model and project the whole log again from position 0.

    The audit chain is part of the read model: a rebuild makes it anew from the stored events. So the events are
    first checked against the chain there is, and a mismatch (an altered, missing or unexpected event) stops the
    rebuild, which would otherwise wipe the evidence of it, unless --force is given."""
    with configuration_errors():
        settings = Settings.from_env()
    with open_event_log(settings) as (recorder, engine):
        checked = audit_chain.verify(recorder, engine)
        with engine.connect() as conn:
            chained = audit_chain.head(conn).position
        logged = recorder.max_notification_id() or 0
    if not checked.ok:
        click.echo(f"the stored events do not match the audit chain: {checked.detail}", err=True)
        if chained > logged:
            click.echo(
                f"the chain reaches position {chained} and the log ends at {logged}: were the events restored from "
                "an older backup than the rest of the database? Restore the whole database from one backup",
                err=True,
            )
        if not force:
            raise click.ClickException(
                "not rebuilding: a rebuild would make the audit chain anew from the events as they are. Find out "
                "what changed them (`tracker audit verify`, and against a published head with --position and "
                "--hash); to rebuild anyway, run it again with --force"
            )
        click.echo("rebuilding anyway (--force): the new chain starts from the events as they are", err=True)
    with _read_model() as read_model:
        total = read_model.app.current_position()
        started = time.perf_counter()
        with _progress(total, "rebuilding") as report:
            try:
                applied = read_model.rebuild(report)
            except SchemaMismatch as error:
                raise click.ClickException(str(error)) from error
        elapsed = time.perf_counter() - started
        rate = applied / elapsed if elapsed else 0.0
        click.echo(f"rebuilt {applied} events in {elapsed:.1f}s ({rate:,.0f} events/s)")


@projections.command("status")
def projections_status() -> None:
    """Each projection's position and its lag behind the event log."""
    with _read_model() as read_model:
        rows = read_model.status()
        problem = read_model.schema_problem()
        with read_model.reader.connect() as conn:
            left = deferred.records(conn)
            running = deferred.running(conn, left)
    click.echo(f"{'projection':<12} {'position':>10} {'log':>10} {'lag':>8}")
    for row in rows:
        click.echo(f"{row.name:<12} {row.position:>10} {row.log_position:>10} {row.lag:>8}")
    if problem is not None:
        click.echo(f"nothing is projected by this release: {problem}")
    if left:
        touched = max(at for _, at in left)
        dropped = sum(1 for name, _ in left if name != deferred.COUNTS)
        state = (
            "running" if running else "stopped part way: the next projection batch or 'tracker db upgrade' finishes it"
        )
        click.echo(
            f"rebuild unfinished ({state}): {dropped} indexes dropped and the running counts left until its "
            f"end; last batch {touched:%Y-%m-%d %H:%M:%S} UTC"
        )


@contextmanager
def _progress(total: int, label: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on a terminal; plain progress lines otherwise."""
    if sys.stderr.isatty():
        with click.progressbar(length=max(total, 1), label=label, file=sys.stderr) as bar:
            done = [0]

            def advance(position: int, _total: int) -> None:
                bar.update(position - done[0])
                done[0] = position

            yield advance
        return
    last = [0.0]

    def line(position: int, of: int) -> None:
        now = time.monotonic()
        if now - last[0] >= 1 or position >= of:
            last[0] = now
            click.echo(f"{label}: {position}/{of}", err=True)

    yield line
