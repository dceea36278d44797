"""`tracker outbox`: the outbox worker's process (run) and its state (status)."""

from __future__ import annotations

import dataclasses
import signal
import threading
from typing import Any

import click

from cli.common import configuration_errors
from projections.following import MAX_OUTAGE_WAIT, STORE_UNAVAILABLE
from runtime.services import Services
from runtime.settings import Settings


@click.group("outbox")
def outbox() -> None:
    """Webhooks and e-mail: what leaves the tracker, derived from the event log."""


def _services() -> tuple[Any, Services]:
    """The services of a web app that serves nothing and runs nothing in the background: the pages give the outbox
    its e-mail renderer. Imported here: the web app is the slowest part of the tracker to import, and only the outbox's
    commands need it."""
    from bootstrap import create_app
    from web.services import SERVICES

    with configuration_errors():
        settings = dataclasses.replace(Settings.from_env(), inline_projections=False, inline_outbox=False)
        app = create_app(settings)
    return app, app.extensions[SERVICES]


@outbox.command("run")
def outbox_run() -> None:
    """Derive deliveries and e-mails from the log and send them, until stopped (SIGTERM or Ctrl-C).

    Run one beside the web workers on PostgreSQL (on SQLite the web process runs the outbox itself unless
    TRACKER_INLINE_OUTBOX=0). A worker stopped or killed mid-send loses nothing: what it had claimed is sent again
    with the same webhook-id once its claim lapses."""
    stopping = threading.Event()
    running: list[Services] = []

    def stop(*_: Any) -> None:
        stopping.set()
        if running and running[0].outbox is not None:
            running[0].outbox.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    pause = 0.5
    while not stopping.is_set():
        try:
            _app, services = _services()
        except STORE_UNAVAILABLE as error:
            click.echo(f"the store is unavailable ({type(error).__name__}); trying again in {pause:.1f}s", err=True)
            stopping.wait(pause)
            pause = min(pause * 2, MAX_OUTAGE_WAIT)
            continue
        try:
            assert services.outbox is not None
            running[:] = [services]
            click.echo(f"outbox following the event log from position {services.outbox.stats()['position']}", err=True)
            if not stopping.is_set():
                services.outbox.follow()
            click.echo("outbox stopped", err=True)
            return
        finally:
            running.clear()
            services.close()


@outbox.command("status")
def outbox_status() -> None:
    """Deliveries and e-mails by status, the age of the oldest undelivered webhook and unsent e-mail, and the lag
    behind the log."""
    _app, services = _services()
    try:
        assert services.outbox is not None
        found = services.outbox.stats()
    finally:
        services.close()
    click.echo(f"position {found['position']} (lag {found['lag']} events)")
    click.echo("deliveries: " + ", ".join(f"{k} {v}" for k, v in found["deliveries"].items()))
    click.echo("e-mails: " + ", ".join(f"{k} {v}" for k, v in found["emails"].items()))
    for label, key in (
        ("undelivered webhook", "oldest_undelivered_seconds"),
        ("unsent e-mail", "oldest_unsent_email_seconds"),
    ):
        oldest = found[key]
        click.echo(f"oldest {label}: {'none' if oldest is None else f'{oldest:.1f} s'}")
