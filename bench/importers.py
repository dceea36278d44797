"""Throughput of the CoVE import (73 projects, 1,578 organisations, 1,856 memberships) on SQLite and PostgreSQL.

python -m bench.importers [--stores sqlite,postgres] [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from bench.common import fresh_store, machine, median, table
from bootstrap import open_application
from importers.cove import import_cove
from tracker.actors import Actor

COVE = Path(__file__).resolve().parents[2] / "shared" / "data" / "cove-projects.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--file", default=str(COVE))
    args = parser.parse_args(argv)
    rows = []
    for kind in args.stores.split(","):
        first_runs, reruns = [], []
        for n in range(args.repeats):
            with fresh_store(kind) as url:
                app = open_application(url)
                summary = import_cove(app, args.file, actor=Actor("importer:bench", "importer"))
                records = summary.rows + summary.organisations_created + summary.memberships_created
                first_runs.append((records / summary.seconds, summary.rows / summary.seconds, summary.seconds))
                again = import_cove(app, args.file, actor=Actor("importer:bench", "importer"))
                reruns.append(again.rows / again.seconds)
                app.close()
            print(f"{kind}: run {n + 1}: {summary.seconds:.2f}s", file=sys.stderr)
        rows.append(
            [
                kind,
                f"{median([r[2] for r in first_runs]):.2f}",
                f"{median([r[1] for r in first_runs]):,.0f}",
                f"{median([r[0] for r in first_runs]):,.0f}",
                f"{median(reruns):,.0f}",
            ]
        )
    print(
        f"\nCoVE import, {date.today().isoformat()}, {machine()}; median of {args.repeats} imports into a fresh store\n"
    )
    print(
        table(
            [
                "store",
                "seconds",
                "projects/s",
                "records/s (projects + organisations + memberships)",
                "rerun projects/s (all unchanged)",
            ],
            rows,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
