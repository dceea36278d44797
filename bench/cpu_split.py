"""Where a write's CPU goes: each process of the stack's CPU per write under the closed-loop write mix.

python -m bench.cpu_split [--store postgres] [--seconds 20] [--warmup 5] [--clients 4] [--threads 4]

Runs the write mix of `make bench` (bench.write_path) in a closed loop against gunicorn, with the projection and
outbox workers on PostgreSQL, and measures the CPU (user and system) of every process on the machine over a window
of steady load: from `--warmup` seconds after the clients start until a second before they stop, so that their own
start-up is left out. Each command of the mix stores exactly one event, so the writes in the window are the log's
growth over it. The processes are grouped by what they are: the gunicorn workers (on SQLite with the projection and
outbox threads in them), the projection worker, the outbox worker, the PostgreSQL server, the benchmark's load
generator, and everything else on the machine.

On a machine whose cores are all busy, a process's CPU per write is what it costs, and the cores are shared: a
millisecond less in one process is a millisecond more for the others. Run it on an otherwise idle machine: every
PostgreSQL process counts as the stack's server, and the CPU of a process that ends within the window is not seen.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from dataclasses import dataclass
from datetime import date

import psutil

from bench.common import fresh_store, load_arguments, machine, table
from bench.stack import running_stack
from bench.write_path import LoadResult, http_load
from bootstrap import open_application

GROUPS = (
    "gunicorn workers",
    "projection worker",
    "outbox worker",
    "PostgreSQL server",
    "load generator",
    "everything else",
)


@dataclass(frozen=True)
class Sample:
    """The CPU seconds each process had used at one moment, with its group, and the log's position then."""

    cpu: dict[int, tuple[str, float]]
    position: int
    at: float


def group_of(process: psutil.Process, me: int) -> str:
    command = " ".join(process.cmdline())
    if process.name().startswith("postgres") or command.startswith("postgres:"):
        return "PostgreSQL server"
    if "gunicorn" in command:
        return "gunicorn workers"
    if "projections run" in command:
        return "projection worker"
    if "outbox run" in command:
        return "outbox worker"
    # The clients are this process's multiprocessing children (bench.write_path.http_load).
    if process.pid == me or "multiprocessing" in command:
        return "load generator"
    return "everything else"


def sample(position: int) -> Sample:
    me = os.getpid()
    cpu: dict[int, tuple[str, float]] = {}
    for process in psutil.process_iter():
        try:
            times = process.cpu_times()
            cpu[process.pid] = (group_of(process, me), times.user + times.system)
        except psutil.Error:
            continue
    return Sample(cpu, position, time.perf_counter())


def split(before: Sample, after: Sample) -> dict[str, float]:
    """CPU seconds per group between two samples (a process that started in between counts from zero)."""
    used = dict.fromkeys(GROUPS, 0.0)
    for pid, (group, seconds) in after.cpu.items():
        used[group] += seconds - before.cpu.get(pid, (group, 0.0))[1]
    return used


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    load_arguments(parser, store="postgres", seconds=20.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    args = parser.parse_args(argv)
    if args.seconds <= args.warmup + 2:
        parser.error("--seconds must leave a window of more than a second after --warmup")

    with fresh_store(args.store) as url, running_stack(url, threads=args.threads) as stack:
        log = open_application(url)
        result: list[LoadResult] = []
        load = threading.Thread(
            target=lambda: result.append(http_load(stack, clients=args.clients, seconds=args.seconds)), daemon=True
        )
        load.start()
        # The clients start their clocks together once all have booted (bench.write_path): wait for the first write.
        start = log.current_position()
        while log.current_position() == start and load.is_alive():
            time.sleep(0.05)
        time.sleep(args.warmup)
        before = sample(log.current_position())
        time.sleep(args.seconds - args.warmup - 1)
        after = sample(log.current_position())
        load.join()
        log.close()
    if not result or result[0].errors:
        raise SystemExit(f"the load failed: {result[0].errors if result else 'no result'} errors")

    writes = after.position - before.position
    if writes <= 0:
        raise SystemExit("no write landed in the window: nothing to divide by")
    window = after.at - before.at
    used = split(before, after)
    total = sum(used.values())
    rows = [
        [group, f"{seconds:.2f}", f"{seconds * 1000 / writes:.2f}", f"{seconds / total:.0%}"]
        for group, seconds in used.items()
    ]
    rows.append(["all", f"{total:.2f}", f"{total * 1000 / writes:.2f}", "100%"])
    print(f"\nWhere a write's CPU goes, {args.store}, {date.today().isoformat()}, {machine()}")
    print(
        f"closed loop, {args.clients} clients, {args.threads} threads per worker; "
        f"window of {window:.1f} s with {writes:,} writes "
        f"({writes / window:,.1f} writes/s); {os.cpu_count()} cores give {window * (os.cpu_count() or 1):.1f} CPU s\n"
    )
    print(table(["process", "CPU s", "CPU ms per write", "share"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
