"""One SQLite web worker against two at the same steady rate: the paced write mix alone, then with webhooks.

python -m bench.workers [--rate 110] [--seconds 20] [--workers 1 2 1 2]

For each worker count in turn (alternating them spreads a shared host's slow moments over both), on a fresh SQLite
store: the write mix paced at `--rate` commands/s for `--seconds`, then again with a webhook endpoint taking every
event. `make bench` paces each configuration at 70% of its own peak, so a configuration with a higher peak is asked
for more; this asks both for the same rate.
"""

from __future__ import annotations

import argparse
from datetime import date

from bench.common import fresh_store, machine, table
from bench.outbox import webhook_arrivals
from bench.reads import pct
from bench.receiver import webhook_receiver
from bench.stack import running_stack
from bench.write_path import http_load

HEADERS = ["workers", "writes, paced", "writes, while webhooks are sent", "webhook arrival"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=110.0, help="commands per second, all clients together")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 1, 2])
    args = parser.parse_args(argv)
    rows = []
    for workers in args.workers:
        with fresh_store("sqlite") as url, running_stack(url, workers=workers) as stack:
            http_load(stack, clients=args.clients, seconds=3)  # warm up
            paced = http_load(stack, clients=args.clients, seconds=args.seconds, total_rate=args.rate)
            with webhook_receiver() as receiver:
                hooks = webhook_arrivals(stack, receiver, clients=args.clients, seconds=args.seconds, rate=args.rate)
        rows.append(
            [
                str(workers),
                f"{paced.rate:,.0f} cmd/s, p99 {paced.percentile(99):,.1f} ms",
                f"{hooks.load.rate:,.0f} cmd/s, p99 {hooks.load.percentile(99):,.1f} ms",
                f"p99 {pct(hooks.latencies_ms, 99):,.0f} ms, {hooks.undelivered} not arrived",
            ]
        )
        print(table(HEADERS, rows[-1:]))
    print(f"\nSQLite, the write mix paced at {args.rate:,.0f} cmd/s, {date.today().isoformat()}, {machine()}\n")
    print(table(HEADERS, rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
