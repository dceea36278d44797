"""Rebuild throughput of the read model, next to eventsourcing's ProjectionRunner measured in the same run.

python -m bench.projections [--events 100000] [--stores sqlite,postgres] [--runner-events 20000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from functools import partial
from typing import Any

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.projection import Projection, ProjectionRunner
from psycopg.sql import SQL, Identifier

from bench.common import fresh_store, machine, median, progress_line, table, timed
from bench.portfolio import Portfolio
from bootstrap import open_application
from projections.read_model import ReadModel
from storage.application import StoredTrackerApplication
from storage.config import StoreConfig


class AuditView(PostgresTrackingRecorder):
    """The library's way: one row per event and its tracking record, in one transaction per event."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {}.bench_runner_audit "
                "(position bigint PRIMARY KEY, aggregate_id uuid, version int, actor_id text, at timestamptz)"
            ).format(Identifier(self.datastore.schema))
        )

    def record(self, event: Any, tracking: Tracking) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL("INSERT INTO {}.bench_runner_audit VALUES (%s, %s, %s, %s, %s)").format(
                    Identifier(self.datastore.schema)
                ),
                (
                    tracking.notification_id,
                    event.originator_id,
                    event.originator_version,
                    event.actor_id,
                    event.timestamp,
                ),
            )
            self._insert_tracking(curs, tracking)


class AuditProjection(Projection[AuditView]):
    name = "benchaudit"

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:  # type: ignore[override]
        self.view.record(domain_event, tracking)


def runner_rate(url: str, events: int) -> float:
    """Events per second that ProjectionRunner sustains over the first `events` events of the log."""
    env = StoreConfig.from_url(url).event_store_env(create_tables=False) | {"CREATE_TABLE": "y"}
    if StoreConfig.from_url(url).schema:
        env["POSTGRES_SCHEMA"] = StoreConfig.from_url(url).schema or ""
    started = time.perf_counter()
    with ProjectionRunner(
        application_class=StoredTrackerApplication, projection_class=AuditProjection, view_class=AuditView, env=env
    ) as runner:
        runner.wait(events, timeout=600)
        elapsed = time.perf_counter() - started
    return events / elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--runner-events", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    rows = []
    for kind in args.stores.split(","):
        with fresh_store(kind) as url:
            app = open_application(url)
            print(f"{kind}: generating {args.events:,} events", file=sys.stderr)
            portfolio = Portfolio(app)
            written, gen_seconds = timed(
                partial(portfolio.generate, args.events, progress=progress_line("events written"))
            )
            read_model = ReadModel(app, url)
            rates = []
            for n in range(args.repeats):
                applied, seconds = timed(partial(read_model.rebuild, progress_line(f"rebuild {n + 1}")))
                assert applied == written
                rates.append(applied / seconds)
            read_model.close()
            app.close()
            ours = median(rates)
            if kind == "postgres":
                print(f"{kind}: ProjectionRunner over {args.runner_events:,} events", file=sys.stderr)
                reference = runner_rate(url, min(args.runner_events, written))
                ref_text, ratio = f"{reference:,.0f}", f"{ours / reference:.1f}×"
            else:
                ref_text, ratio = "n/a (SQLite has no subscriptions)", "-"
            rows.append(
                [
                    kind,
                    f"{written:,}",
                    f"{written / gen_seconds:,.0f}",
                    f"{ours:,.0f}",
                    f"{min(rates):,.0f}–{max(rates):,.0f}",
                    ref_text,
                    ratio,
                ]
            )

    print()
    print(f"Projection rebuild, {date.today().isoformat()}, {machine()}")
    print(f"median of {args.repeats} full rebuilds; ProjectionRunner over the first {args.runner_events:,} events\n")
    print(
        table(
            ["store", "events", "generated/s", "rebuild events/s", "range", "ProjectionRunner events/s", "ratio"],
            rows,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
