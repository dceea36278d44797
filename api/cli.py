"""The `tracker` command line: database setup and projections (run, rebuild, status)."""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from api.bootstrap import build_application, build_read_model, upgrade_database
from api.settings import Settings
from projections.runner import ReadModel


@click.group()
def main() -> None:
    """Innovation Ecosystem Tracker administration (store chosen by TRACKER_DATABASE_URL)."""


@main.group()
def db() -> None:
    """The event store and read-model schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create the event tables and migrate the read model to the latest revision."""
    settings = Settings.from_env()
    upgrade_database(settings)
    click.echo(f"database ready: {_safe(settings.database_url)}")


@main.group()
def projections() -> None:
    """The SQL read models built from the event log."""


@contextmanager
def _read_model() -> Iterator[ReadModel]:
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
def projections_run(idle_wait: float) -> None:
    """Follow the event log and keep the read model up to date, until stopped (SIGTERM or Ctrl-C)."""
    with _read_model() as read_model:

        def stop(*_: Any) -> None:
            read_model.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        click.echo(f"following the event log from position {read_model.position()}", err=True)
        read_model.follow(idle_wait=idle_wait)
        click.echo(f"stopped at position {read_model.position()}", err=True)


@projections.command("rebuild")
def projections_rebuild() -> None:
    """Empty the read model and project the whole log again from position 0."""
    with _read_model() as read_model:
        total = read_model.app.current_position()
        started = time.perf_counter()
        with _progress(total, "rebuilding") as report:
            applied = read_model.rebuild(report)
        elapsed = time.perf_counter() - started
        rate = applied / elapsed if elapsed else 0.0
        click.echo(f"rebuilt {applied} events in {elapsed:.1f}s ({rate:,.0f} events/s)")


@projections.command("status")
def projections_status() -> None:
    """Each projection's position and its lag behind the event log."""
    with _read_model() as read_model:
        rows = read_model.status()
    click.echo(f"{'projection':<12} {'position':>10} {'log':>10} {'lag':>8}")
    for row in rows:
        click.echo(f"{row.name:<12} {row.position:>10} {row.log_position:>10} {row.lag:>8}")


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


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    if "@" in url and ":" in url.split("@", 1)[0].split("//", 1)[-1]:
        scheme, rest = url.split("//", 1)
        credentials, host = rest.split("@", 1)
        return f"{scheme}//{credentials.split(':', 1)[0]}:***@{host}"
    return url


if __name__ == "__main__":
    main()
