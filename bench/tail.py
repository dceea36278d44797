"""Where the slowest paced writes spent their time, request by request.

python -m bench.tail [--store sqlite] [--seconds 30] [--runs 3] [--slowest 1]

Runs the write mix paced at 70% of the closed-loop peak, as `make bench` does, against gunicorn serving
bench.tail_worker (the real app, with its SQLite writer lock, its requests and the garbage collector timed; see
there). Each client request carries an X-Request-ID, so its latency, counted from its scheduled start, splits into:
- late: from its scheduled start until its client sent it (the same client's previous request was still running,
  or the client process waited for a core);
- before and after the worker thread: from the send until a worker thread began the request, and from the response
  until the client had read it (sockets, gunicorn's main thread handing the request to a worker thread, the client
  itself);
- in the worker thread: the CPU the thread used, the time it waited for the writer lock, and the rest (waiting for
  the GIL or a core, or for the disk).
For the slowest `--slowest` percent of each run it prints the sum of each part, and the writer-lock holds and
garbage collections of 5 and 2 ms or more that overlapped them.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import fresh_store, load_arguments, machine
from bench.reads import pct
from bench.stack import running_stack
from bench.write_path import LoadResult, http_load


@dataclass(frozen=True)
class Split:
    """One client request's latency (ms), in the parts the module docstring names."""

    latency: float
    late: float
    outside: float
    cpu: float
    lock_wait: float
    rest: float
    start: float
    end: float
    path: str


def read_log(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def split(result: LoadResult, records: list[dict[str, Any]]) -> list[Split]:
    served = {r["id"]: r for r in records if r["kind"] == "request"}
    splits = []
    for latency, scheduled, request_id, sent in zip(
        result.latencies_ms, result.scheduled_at, result.request_ids, result.sent_at, strict=True
    ):
        server = served.get(request_id)
        if server is None:
            continue
        late = max((sent - scheduled) * 1000, 0.0)
        rest = max(server["ms"] - server["cpu_ms"] - server["lock_wait_ms"], 0.0)
        splits.append(
            Split(
                latency=latency,
                late=late,
                outside=max(latency - late - server["ms"], 0.0),
                cpu=server["cpu_ms"],
                lock_wait=server["lock_wait_ms"],
                rest=rest,
                start=scheduled,
                end=scheduled + latency / 1000,
                path=server["path"],
            )
        )
    return splits


def kind_of(path: str) -> str:
    if path.endswith("/assessments"):
        return "assessment"
    if path.endswith("/decisions"):
        return "decision"
    return "submission"


def report(run: int, result: LoadResult, records: list[dict[str, Any]], slowest_percent: float) -> None:
    splits = split(result, records)
    p50, p95, p99 = (result.percentile(q) for q in (50, 95, 99))
    print(
        f"run {run}: {result.rate:,.0f} cmd/s, p50 {p50:.1f} p95 {p95:.1f} p99 {p99:.1f}"
        f" max {max(result.latencies_ms):.1f} ms; {len(splits):,} of {len(result.latencies_ms):,} requests matched"
    )
    if not splits:
        return
    ordered = sorted(splits, key=lambda s: s.latency, reverse=True)
    slow = ordered[: max(1, round(len(ordered) * slowest_percent / 100))]
    total = sum(s.latency for s in slow)
    parts = {
        "late (client still busy or waiting for a core)": sum(s.late for s in slow),
        "before and after the worker thread": sum(s.outside for s in slow),
        "worker thread: CPU": sum(s.cpu for s in slow),
        "worker thread: waiting for the writer lock": sum(s.lock_wait for s in slow),
        "worker thread: rest (GIL, a core, the disk)": sum(s.rest for s in slow),
    }
    print(f"  the slowest {len(slow)} requests ({slow[-1].latency:.1f}–{slow[0].latency:.1f} ms), {total:,.0f} ms:")
    for name, ms in parts.items():
        print(f"    {name:48s} {ms:8,.0f} ms  {100 * ms / total:5.1f}%")
    print(f"    kinds: {dict(Counter(kind_of(s.path) for s in slow))}")
    everyone = {
        "CPU": [s.cpu for s in splits],
        "lock wait": [s.lock_wait for s in splits],
        "rest": [s.rest for s in splits],
    }
    print(
        "  every request, in the worker thread: "
        + ", ".join(f"{name} p50 {pct(v, 50):.1f} p99 {pct(v, 99):.1f} ms" for name, v in everyone.items())
    )
    windows = [(s.start, s.end) for s in slow]

    def overlaps(at: float, ms: float) -> bool:
        return any(at < end and at + ms / 1000 > start for start, end in windows)

    holds = [r for r in records if r["kind"] == "hold"]
    collections = [r for r in records if r["kind"] == "gc"]
    by_thread: dict[str, list[dict[str, Any]]] = {}
    for hold in holds:
        name = "projection thread" if hold["thread"] == "tracker-projections" else "request threads"
        by_thread.setdefault(name, []).append(hold)
    for name, found in sorted(by_thread.items()):
        during = [h for h in found if overlaps(h["at"], h["ms"])]
        print(
            f"  writer-lock holds ≥ 5 ms by {name}: {len(found)} in the run"
            f" (p50 {pct([h['ms'] for h in found], 50):.1f}, max {max(h['ms'] for h in found):.1f} ms),"
            f" {len(during)} during the slowest requests"
            + (
                f" (max {max(h['ms'] for h in during):.1f} ms, of which CPU"
                f" {max(during, key=lambda h: h['ms'])['cpu_ms']:.1f} ms)"
                if during
                else ""
            )
        )
    during_gc = [c for c in collections if overlaps(c["at"], c["ms"])]
    print(
        f"  garbage collections ≥ 2 ms: {len(collections)} in the run"
        + (f" (max {max(c['ms'] for c in collections):.1f} ms)" if collections else "")
        + f", {len(during_gc)} during the slowest requests"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    load_arguments(parser, store="sqlite", seconds=30)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--slowest", type=float, default=1.0, metavar="PERCENT")
    args = parser.parse_args(argv)
    print(machine())
    with tempfile.TemporaryDirectory(prefix="tracker-tail-") as tmp:
        log = Path(tmp) / "worker.jsonl"
        with (
            fresh_store(args.store) as url,
            running_stack(url, wsgi_app="bench.tail_worker:app", extra_env={"BENCH_TAIL_LOG": str(log)}) as stack,
        ):
            peak = http_load(stack, clients=args.clients, seconds=10)
            rate = 0.7 * peak.rate
            print(f"{args.store}: closed-loop peak {peak.rate:,.0f} cmd/s over 10 s; paced at 70%: {rate:,.0f} cmd/s")
            for run in range(args.runs):
                time.sleep(1)  # the worker writes its records every half second
                log.unlink(missing_ok=True)
                result = http_load(stack, clients=args.clients, seconds=args.seconds, total_rate=rate)
                time.sleep(1)
                report(run, result, read_log(log), args.slowest)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
