"""`python -m soak [--duration SECONDS]`: run the reliability soak, print its figures, exit 1 if anything broke."""

from __future__ import annotations

import argparse
import sys
from collections import Counter

from bench.common import table
from soak.run import Options, Report, run


def parse(argv: list[str] | None) -> Options:
    defaults = Options()
    parser = argparse.ArgumentParser(prog="python -m soak", description=__doc__)
    parser.add_argument("--duration", type=float, default=defaults.duration, help="seconds of load (default 180)")
    parser.add_argument("--workers", type=int, default=defaults.workers, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=defaults.threads, help="threads per gunicorn worker")
    parser.add_argument("--clients", type=int, default=defaults.clients, help="concurrent HTTP clients")
    parser.add_argument("--kill-every", type=float, default=defaults.kill_every, help="mean seconds between kills")
    parser.add_argument(
        "--projection-every", type=float, default=defaults.projection_every, help="mean seconds between kills"
    )
    parser.add_argument(
        "--outbox-every", type=float, default=defaults.outbox_every, help="mean seconds between outbox worker kills"
    )
    parser.add_argument(
        "--outage", type=float, default=defaults.outage, help="seconds PostgreSQL stays down (0: no restart)"
    )
    parser.add_argument("--seed", type=int, default=defaults.seed)
    args = parser.parse_args(argv)
    return Options(
        duration=args.duration,
        workers=args.workers,
        threads=args.threads,
        clients=args.clients,
        kill_every=args.kill_every,
        projection_every=args.projection_every,
        outbox_every=args.outbox_every,
        outage=args.outage,
        seed=args.seed,
    )


def _statuses(counts: Counter[int | None]) -> str:
    parts = [f"{'none' if s is None else s}: {n:,}" for s, n in sorted(counts.items(), key=lambda i: i[0] or 0)]
    return ", ".join(parts) or "none"


def summary(report: Report) -> str:
    o, ledger, outage = report.options, report.ledger, report.outage
    outage_rows = [["PostgreSQL restarts", "0"]]
    if outage is not None:
        outage_rows = [
            [
                "PostgreSQL restarts",
                f"1 (unavailable {outage.up_from - outage.stop_issued:.1f} s, fully down "
                f"{outage.down_until - outage.down_from:.1f} s)",
            ],
            [
                "503s during outage",
                f"{outage.probes.get(503, 0)} of {sum(outage.probes.values())} probes; "
                f"{report.outage_load.get(503, 0)} load writes (all load answers then: "
                f"{_statuses(report.outage_load)})",
            ],
            ["503s outside the outage", f"{report.load_503_outside_outage:,} load writes"],
            ["slowest probe during outage", f"{outage.slowest_probe_s:.2f} s"],
            [
                "API recovered (no app restart)",
                "never" if outage.recovered_after_s is None else f"{outage.recovered_after_s:.1f} s after start",
            ],
        ]
    rows = [
        [
            "duration",
            f"{report.seconds:.0f} s ({o.workers} gunicorn workers x {o.threads} threads, {o.clients} clients)",
        ],
        ["write requests sent", f"{len(report.writes):,}"],
        ["acknowledged (2xx)", f"{report.acknowledged:,}"],
        ["refused, by status", _statuses(Counter(report.refused))],
        [
            "unknown (no answer)",
            f"{report.unknown:,} (in the store: {ledger.unknown_landed:,}, absent: {ledger.unknown_absent:,})",
        ],
        ["refused but stored", _statuses(Counter(ledger.refused_stored))],
        ["reads, by status", _statuses(report.reads)],
        ["gunicorn workers SIGKILLed", f"{report.workers_killed:,}"],
        ["gunicorn workers that died unasked", f"{report.workers_died_unasked:,}"],
        ["projection worker kills (restarted)", f"{report.projection_kills:,}"],
        ["projection worker exits unasked", f"{len(report.projection_exits_unasked):,}"],
        ["outbox worker kills (restarted)", f"{report.outbox_kills:,}"],
        ["outbox worker exits unasked", f"{len(report.outbox_exits_unasked):,}"],
        *outage_rows,
        ["events in the store", f"{ledger.events:,}"],
        ["acknowledged writes checked", f"{ledger.checked:,}"],
        ["events lost", f"{len(ledger.lost):,}"],
        ["requests stored twice", f"{len(ledger.duplicates):,}"],
        [
            "projection mismatches",
            f"{report.mismatches:,} rows over {len(report.differing_rows)} tables "
            f"({sum(report.table_rows.values()):,} rows compared)",
        ],
        ["webhook deliveries expected", f"{report.webhooks_expected:,} events"],
        [
            "webhook deliveries received",
            f"{report.webhooks_received:,} events ({report.webhooks_sent:,} requests, {report.webhooks_refused:,} "
            "answered 503 on purpose and retried)",
        ],
        ["webhook deliveries lost", f"{report.webhooks_lost:,}"],
    ]
    return table(["figure", "value"], rows)


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    print(f"soak: {options.duration:.0f} s of load with faults; this takes about a minute longer", flush=True)
    report = run(options)
    print(summary(report))
    for line in report.ledger.lost[:20] + report.ledger.duplicates[:20]:
        print(f"  {line}")
    print(f"logs, timeline and ledger: {report.logs}")
    failures = report.failures()
    for failure in failures:
        print(f"FAILED: {failure}")
    print("soak failed" if failures else "soak passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
