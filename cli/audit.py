"""`tracker audit`: the audit chain's head, and verifying the stored event log against it."""

from __future__ import annotations

import sys

import click

from bootstrap import open_event_log
from projections import audit_chain
from runtime.settings import Settings
from tracker.audit_chain import HASH_RE


@click.group("audit")
def audit() -> None:
    """The audit chain: a SHA-256 hash chain over the stored event log, for tamper evidence."""


@audit.command("head")
def audit_head() -> None:
    """Print the chain's head (position and hash) to record outside the system."""
    with open_event_log(Settings.from_env()) as (_, engine), engine.connect() as conn:
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
    with open_event_log(Settings.from_env()) as (recorder, engine):
        result = audit_chain.verify(recorder, engine, position=position, expected_hash=expected_hash)
        logged = recorder.max_notification_id() or 0
    click.echo(f"position:           {result.position}")
    click.echo(f"hash:               {result.hash or '-'}")
    click.echo(f"expected hash:      {result.expected_hash or '-'}")
    click.echo(f"events checked:     {result.checked}")
    if result.ok:
        click.echo(f"ok: {result.detail}")
        if position is None and result.position < logged:
            click.echo(
                f"the chain does not cover positions {result.position + 1} to {logged} of the log yet: the read model "
                "is behind, or a rebuild did not finish (`tracker projections status`)"
            )
        return
    if result.first_bad_position is not None:
        click.echo(f"first bad position: {result.first_bad_position}")
    click.echo(f"FAILED ({result.reason}): {result.detail}", err=True)
    sys.exit(1)
