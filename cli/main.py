"""The `tracker` command line: database setup, API keys, demo data, projections and audit checks."""

from __future__ import annotations

import gc
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from eventsourcing.persistence import ApplicationRecorder
from sqlalchemy import Engine

from access.keys import KeyError_
from bootstrap import build_application, build_read_model, build_services, upgrade_database
from importers.common import Progress, RowError
from importers.cove import import_cove
from importers.demo import DEMO_KEYS, provider_name
from importers.demo import load as load_demo
from importers.erasmus import RowFilter, import_erasmus
from projections import audit_chain, deferred
from projections.engine import make_engine
from projections.following import FOLLOW_SETTLE, MAX_OUTAGE_WAIT, STORE_UNAVAILABLE
from projections.read_model import ReadModel
from runtime.services import Services
from runtime.settings import Settings
from storage.application import open_application
from storage.config import StoreConfigError
from tracker.actors import Actor
from tracker.audit_chain import HASH_RE


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
def keys() -> None:
    """API keys (stored hashed; a key is shown once, when it is created)."""


@keys.command("create")
@click.option("--role", required=True, type=click.Choice(["admin", "provider", "evaluator", "analyst"]))
@click.option("--organisation", "organisation_id", type=click.UUID, help="Required for provider and evaluator keys.")
@click.option("--name", required=True, help="Unique among active keys; becomes the actor id on events.")
def keys_create(role: str, organisation_id: Any, name: str) -> None:
    """Create a key and print it once."""
    with _services() as services:
        if organisation_id is not None:
            services.app.get_organisation(organisation_id)
        try:
            token, info = services.keys.create(name=name, role=role, organisation_id=organisation_id)
        except KeyError_ as exc:
            raise click.UsageError(str(exc)) from None
    click.echo(token)
    click.echo(f"created key {info.id} ({info.name}, {info.role}); it is not shown again", err=True)


@keys.command("list")
@click.option("--all", "include_revoked", is_flag=True, help="Include revoked keys.")
def keys_list(include_revoked: bool) -> None:
    """List keys (never their secrets)."""
    with _services() as services:
        rows = services.keys.list(include_revoked=include_revoked)
    click.echo(f"{'id':<17}{'name':<24}{'role':<10}{'organisation':<38}{'created':<21}revoked")
    for k in rows:
        revoked = k.revoked_at.strftime("%Y-%m-%d %H:%M") if k.revoked_at else ""
        organisation = str(k.organisation_id or "")
        click.echo(f"{k.id:<17}{k.name:<24}{k.role:<10}{organisation:<38}{k.created_at:%Y-%m-%d %H:%M}     {revoked}")


@keys.command("revoke")
@click.argument("key")
def keys_revoke(key: str) -> None:
    """Revoke a key by id or name; it fails at once."""
    with _services() as services:
        count = services.keys.revoke(key)
    if not count:
        raise click.UsageError(f"no active key with id or name {key!r}")
    click.echo(f"revoked {count} key(s)")


@main.group("import")
def import_() -> None:
    """Load the European Commission's public data (idempotent and resumable: rerun freely)."""


def _run_import(kind: str, file: str, filters: tuple[str, ...] = ()) -> None:
    path = Path(file)
    with _services() as services:
        actor = Actor("importer:cli", "importer")
        total = 1000 if kind == "erasmus" else _count_records(path)
        progress = Progress(total, f"importing {path.name}")
        try:
            if kind == "cove":
                summary = import_cove(services.app, path, actor=actor, progress=progress)
            else:
                parsed = [RowFilter.parse(f) for f in filters]
                summary = import_erasmus(services.app, path, actor=actor, filters=parsed, progress=progress)
        except (RowError, ValueError) as exc:
            raise click.UsageError(str(exc)) from None
        if services.settings.inline_projections:
            services.read_model.catch_up()
    for problem in summary.problems:
        click.echo(f"row {problem['row']}: rejected: {problem['reason']}", err=True)
    rate = summary.rows / summary.seconds if summary.seconds else 0.0
    click.echo(
        f"{summary.source}: {summary.rows} rows: {summary.created} created, {summary.unchanged} unchanged, "
        f"{summary.rejected} rejected, {summary.skipped} filtered out; organisations {summary.organisations_created} "
        f"created, memberships {summary.memberships_created} created ({rate:,.0f} rows/s)"
    )
    if summary.changed_nothing:
        click.echo("nothing changed: everything in the file was already imported")


def _count_records(path: Path) -> int:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 1
    return len(data) if isinstance(data, list) else 1


@import_.command("cove")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def import_cove_command(file: str) -> None:
    """Centres of Vocational Excellence (cove-projects.json): projects, participants and roles."""
    _run_import("cove", file)


@import_.command("erasmus")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--filter", "filters", multiple=True, help="'COLUMN=VALUE' (equals) or 'COLUMN~TEXT' (contains); repeatable."
)
def import_erasmus_command(file: str, filters: tuple[str, ...]) -> None:
    """The Erasmus+ Projects_Overview export, CSV or XLSX, streamed."""
    _run_import("erasmus", file, filters)


@main.group()
def demo() -> None:
    """The demo data set (seed projects, innovations in every stage) and demo keys."""


@demo.command("load")
@click.option("--if-empty", is_flag=True, help="Do nothing when the store already holds events.")
def demo_load(if_empty: bool) -> None:
    """Load the demo data set through the application's commands."""
    with _services() as services:
        if if_empty and services.app.current_position() > 0:
            click.echo("store not empty: demo data not loaded", err=True)
            return
        created = load_demo(services.app)
        services.read_model.catch_up()
    click.echo(f"demo data loaded: {len(created['ecosystems'])} ecosystems, {len(created['innovations'])} innovations")


@demo.command("keys")
def demo_keys() -> None:
    """Revoke earlier demo keys and print a fresh key for each role."""
    with _services() as services:
        services.keys.revoke_demo_keys()
        lines = []
        for name, role, org in DEMO_KEYS:
            organisation_id = None
            if org is not None:
                org_name, country = (provider_name(org[0]), org[0]) if len(org) == 1 else org
                organisation_id = services.app.find_organisation_id(org_name, country)
                if organisation_id is None:
                    raise click.UsageError("demo organisations missing: run 'tracker demo load' first")
            token, _ = services.keys.create(name=name, role=role, organisation_id=organisation_id, demo=True)
            lines.append(f"  {role:<10} {token}")
    click.echo("Demo API keys (send as 'Authorization: Bearer <key>'):")
    click.echo("\n".join(lines))


@main.group()
def projections() -> None:
    """The SQL read models built from the event log."""


@contextmanager
def _configuration_errors() -> Iterator[None]:
    """A setting that cannot work (a malformed URL or cipher key) is a usage error, shown without a traceback."""
    try:
        yield
    except StoreConfigError as error:
        raise click.UsageError(str(error)) from error


@contextmanager
def _services() -> Iterator[Services]:
    with _configuration_errors():
        services = build_services(Settings.from_env())
    try:
        yield services
    finally:
        services.close()


@contextmanager
def _read_model() -> Iterator[ReadModel]:
    with _configuration_errors():
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
                    read_model.follow(idle_wait=idle_wait, settle=settle, on_outage=outage)
                finally:
                    following.clear()
                click.echo(f"stopped at position {read_model.position()}", err=True)
                return
        except STORE_UNAVAILABLE as error:
            outage(error, pause)
            stopping.wait(pause)
            pause = min(pause * 2, MAX_OUTAGE_WAIT)


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
        with read_model.reader.connect() as conn:
            left = deferred.records(conn)
            running = deferred.running(conn, left)
    click.echo(f"{'projection':<12} {'position':>10} {'log':>10} {'lag':>8}")
    for row in rows:
        click.echo(f"{row.name:<12} {row.position:>10} {row.log_position:>10} {row.lag:>8}")
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


@main.group()
def audit() -> None:
    """The audit chain: a SHA-256 hash chain over the stored event log, for tamper evidence."""


@contextmanager
def _event_log() -> Iterator[tuple[ApplicationRecorder, Engine]]:
    """The event store's recorder and the read model's engine, for the audit chain.

    Verification hashes the stored bytes and never decodes an event, so it must run even when an event no longer
    decodes; the application built for serving refuses to start then.
    """
    settings = Settings.from_env()
    app = open_application(settings.database_url, pool_size=1)
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        yield app.recorder, engine
    finally:
        engine.dispose()
        app.close()


@audit.command("head")
def audit_head() -> None:
    """Print the chain's head (position and hash) to record outside the system."""
    with _event_log() as (_, engine), engine.connect() as conn:
        head = audit_chain.head(conn)
    click.echo(f"{head.position} {head.hash}")


def _hash_option(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not HASH_RE.match(value.lower()):
        raise click.BadParameter("must be 64 hexadecimal digits (a SHA-256 hash)")
    return value.lower() if value is not None else None


@audit.command("verify")
@click.option("--position", type=click.IntRange(min=0), help="Verify up to this log position (default: the head).")
@click.option("--hash", "expected_hash", callback=_hash_option, help="The hash recorded for --position.")
def audit_verify(position: int | None, expected_hash: str | None) -> None:
    """Recompute the chain from the stored events and compare; exits 1 and names the first bad position if not."""
    if expected_hash is not None and position is None:
        raise click.UsageError("--hash needs the --position it was recorded at")
    with _event_log() as (recorder, engine):
        result = audit_chain.verify(recorder, engine, position=position, expected_hash=expected_hash)
    click.echo(f"position:           {result.position}")
    click.echo(f"hash:               {result.hash or '-'}")
    click.echo(f"expected hash:      {result.expected_hash or '-'}")
    click.echo(f"events checked:     {result.checked}")
    if result.ok:
        click.echo(f"ok: {result.detail}")
        return
    if result.first_bad_position is not None:
        click.echo(f"first bad position: {result.first_bad_position}")
    click.echo(f"FAILED ({result.reason}): {result.detail}", err=True)
    sys.exit(1)


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
