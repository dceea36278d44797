"""`tracker import`: the European Commission's public data, CoVE projects and the Erasmus+ export."""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path

import click

from cli.common import open_services
from importers.common import ImportStopped, Interrupted, Progress, RowError, Summary
from importers.cove import count_records, import_cove
from importers.erasmus import RowFilter, import_erasmus
from runtime.services import Services
from storage.errors import STORE_ERRORS
from tracker.actors import Actor


@click.group("import")
def import_() -> None:
    """Load the European Commission's public data (idempotent and resumable: rerun freely)."""


def _run_import(kind: str, file: str, filters: tuple[str, ...] = (), *, dry_run: bool = False) -> None:
    path = Path(file)
    with open_services() as services:
        actor = Actor("importer:cli", "importer")
        # An Erasmus+ export is streamed, its rows not counted first: its progress is the share of the file read.
        total = 100 if kind == "erasmus" else count_records(path)
        unit = " (% of the file read)" if kind == "erasmus" else ""
        progress = Progress(total, f"importing {path.name}{unit}")
        try:
            parsed = [RowFilter.parse(f) for f in filters]
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
        try:
            if kind == "cove":
                summary = import_cove(services.app, path, actor=actor, progress=progress, dry_run=dry_run)
            else:
                summary = import_erasmus(
                    services.app, path, actor=actor, filters=parsed, progress=progress, dry_run=dry_run
                )
        except RowError as exc:  # the file as a whole: nothing in it was imported
            raise click.ClickException(str(exc)) from None
        except Interrupted as interrupted:
            _report(interrupted.summary)
            _catch_up(services)
            done = (
                "nothing was written"
                if interrupted.summary.dry_run
                else "the rows before it are imported; import the file again to finish"
            )
            click.echo(f"interrupted after {interrupted.summary.rows} rows: {done}", err=True)
            raise SystemExit(130) from None
        except ImportStopped as stopped:
            _report(stopped.summary)
            with suppress(*STORE_ERRORS):  # the store may still be failing; the projection catches up later
                _catch_up(services)
            raise click.ClickException(str(stopped)) from None
        _catch_up(services)
    _report(summary)
    if summary.dry_run:
        click.echo("a dry run: nothing was written; the counts above say what importing the file would do")
    if summary.rows and summary.rejected == summary.rows:
        raise click.ClickException(f"nothing imported: all {summary.rows} rows were rejected")
    if summary.rejected:
        rest = "nothing was written" if summary.dry_run else "the others are imported"
        were = "was" if summary.rejected == 1 else "were"
        raise click.ClickException(f"{summary.rejected} of {summary.rows} rows {were} rejected (listed above); {rest}")
    if not summary.rows:
        click.echo("nothing imported: the file holds no records")
    elif summary.skipped == summary.rows:
        click.echo(f"nothing imported: the filters kept none of the {summary.rows} rows")
    elif summary.changed_nothing:
        kept = "everything the filters kept" if summary.skipped else "everything in the file"
        click.echo(f"nothing changed: {kept} was already imported")
    if summary.differences:
        click.echo(
            f"records imported before that now differ from what is stored: {len(summary.differences)} (listed above); "
            "an import adds what is missing and never changes what is stored"
        )


def _short(value: str | None) -> str:
    if value is None:
        return "nothing"
    return repr(value if len(value) <= 60 else f"{value[:60]}…")


def _catch_up(services: Services) -> None:
    if services.settings.inline_projections:
        services.read_model.catch_up()


def _report(summary: Summary) -> None:
    for problem in summary.problems:
        named = f" ({problem['project']})" if problem.get("project") else ""
        click.echo(f"row {problem['row']}{named}: rejected: {problem['reason']}", err=True)
    if summary.problems_not_listed:
        click.echo(f"… and {summary.problems_not_listed} more rejected rows, not listed", err=True)
    for differing in summary.differences:
        said = "; ".join(
            f"{name} {_short(stored)} in the store, {_short(given)} in the file"
            for name, (stored, given) in differing["values"].items()
        )
        click.echo(
            f"row {differing['row']}: {differing['project_identifier']} differs from what is stored in "
            f"{', '.join(differing['fields'])}; kept as stored ({said})",
            err=True,
        )
    rate = summary.rows / summary.seconds if summary.seconds else 0.0
    click.echo(
        f"{summary.source}: {summary.rows} rows: {summary.created} created, {summary.completed} completed with "
        f"members, {summary.unchanged} unchanged, "
        f"{summary.rejected} rejected, {summary.skipped} filtered out; organisations {summary.organisations_created} "
        f"created, {summary.organisations_existing} found already; memberships {summary.memberships_created} created"
        f" ({rate:,.0f} rows/s)"
    )


DRY_RUN = click.option(
    "--dry-run", is_flag=True, help="Check every record and say what importing would do; write nothing."
)


@import_.command("cove")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@DRY_RUN
def import_cove_command(file: str, dry_run: bool) -> None:
    """Centres of Vocational Excellence (cove-projects.json): projects, participants and roles."""
    _run_import("cove", file, dry_run=dry_run)


@import_.command("erasmus")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--filter", "filters", multiple=True, help="'COLUMN=VALUE' (equals) or 'COLUMN~TEXT' (contains); repeatable."
)
@DRY_RUN
def import_erasmus_command(file: str, filters: tuple[str, ...], dry_run: bool) -> None:
    """The Erasmus+ Projects_Overview export, CSV or XLSX, streamed."""
    _run_import("erasmus", file, filters, dry_run=dry_run)
