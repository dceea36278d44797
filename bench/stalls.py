"""What the machine was doing when paced writes were slow: CPU and I/O pressure, steal, and an fdatasync probe.

python -m bench.stalls [--store postgres] [--seconds 30] [--runs 3] [--fsync-probe DIR]

The write path's tail at 70% of peak (see `make bench`) is made of short episodes in which every client is slow at
once. This runs the same paced mix and samples, every 50 ms, the kernel's pressure-stall counters for CPU and I/O
(/proc/pressure: the share of time some runnable task waited for a core, or some task waited for I/O), the steal and
iowait ticks of /proc/stat and, with --fsync-probe, how long a 4 KiB write and fdatasync take in DIR (put it on the
database's disk; the probe adds a little I/O of its own). For each run it prints the percentiles and the samples
around the slowest request. Linux only.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import fresh_store, load_arguments, machine
from bench.reads import pct
from bench.stack import running_stack
from bench.write_path import LoadResult, http_load

SAMPLE_SECONDS = 0.05


@dataclass(frozen=True)
class Sample:
    at: float
    cpu_some_us: int
    io_some_us: int
    steal_ticks: int
    iowait_ticks: int


def _pressure_total(resource: str) -> int:
    """Microseconds, since boot, in which some task waited for this resource."""
    some = Path(f"/proc/pressure/{resource}").read_text().splitlines()[0].split()
    return int(some[4].split("=", 1)[1])


def _sample() -> Sample:
    cpu = Path("/proc/stat").read_text().splitlines()[0].split()
    return Sample(time.time(), _pressure_total("cpu"), _pressure_total("io"), int(cpu[8]), int(cpu[5]))


class Probes:
    """Samples the counters (and optionally fdatasync) in threads of their own while a run goes on."""

    def __init__(self, fsync_dir: Path | None) -> None:
        self.samples: list[Sample] = []
        self.fsyncs: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._sample_loop)]
        if fsync_dir is not None:
            self._threads.append(threading.Thread(target=self._fsync_loop, args=(fsync_dir,)))

    def __enter__(self) -> Probes:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _sample_loop(self) -> None:
        while not self._stop.is_set():
            self.samples.append(_sample())
            self._stop.wait(SAMPLE_SECONDS)

    def _fsync_loop(self, directory: Path) -> None:
        path = directory / f"tracker-fsync-probe-{os.getpid()}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while not self._stop.is_set():
                at, started = time.time(), time.perf_counter()
                os.pwrite(fd, b"\0" * 4096, 0)
                os.fdatasync(fd)
                self.fsyncs.append((at, (time.perf_counter() - started) * 1000))
                self._stop.wait(0.02)
        finally:
            os.close(fd)
            path.unlink()


def report(run: int, result: LoadResult, probes: Probes) -> None:
    steal = probes.samples[-1].steal_ticks - probes.samples[0].steal_ticks if probes.samples else 0
    p50, p95, p99 = (result.percentile(q) for q in (50, 95, 99))
    line = (
        f"run {run}: {result.rate:,.0f} cmd/s, p50 {p50:.1f} p95 {p95:.1f} p99 {p99:.1f}"
        f" max {max(result.latencies_ms):.1f} ms;"
        f" steal {steal} ticks over the run"
    )
    if probes.fsyncs:
        fsync = [ms for _, ms in probes.fsyncs]
        line += f"; fdatasync p50 {pct(fsync, 50):.2f} p99 {pct(fsync, 99):.2f} max {max(fsync):.1f} ms"
    print(line, flush=True)
    origin = min(result.scheduled_at)
    slowest = max(range(len(result.latencies_ms)), key=result.latencies_ms.__getitem__)
    start = result.scheduled_at[slowest]
    end = start + result.latencies_ms[slowest] / 1000
    print(f"  slowest request: scheduled at {start - origin:.2f} s, {result.latencies_ms[slowest]:.0f} ms")
    print("    time    cpu some   io some   steal  iowait  fdatasync max")
    for before, after in zip(probes.samples, probes.samples[1:], strict=False):
        if not start - 0.2 <= after.at <= end + 0.1:
            continue
        elapsed_us = (after.at - before.at) * 1e6
        in_window = [ms for at, ms in probes.fsyncs if before.at <= at <= after.at]
        print(
            f"  {after.at - origin:6.2f} s {100 * (after.cpu_some_us - before.cpu_some_us) / elapsed_us:8.1f}%"
            f" {100 * (after.io_some_us - before.io_some_us) / elapsed_us:8.1f}%"
            f" {after.steal_ticks - before.steal_ticks:7d} {after.iowait_ticks - before.iowait_ticks:7d}"
            f"  {f'{max(in_window):.1f} ms' if in_window else '(none finished)' if probes.fsyncs else '-'}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    load_arguments(parser, store="postgres", seconds=30)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--fsync-probe", type=Path, default=None, metavar="DIR")
    args = parser.parse_args(argv)
    if not Path("/proc/pressure/cpu").exists():
        print("this kernel has no pressure-stall information (/proc/pressure)", file=sys.stderr)
        return 2
    print(machine())
    with fresh_store(args.store) as url, running_stack(url) as stack:
        peak = http_load(stack, clients=args.clients, seconds=10)
        rate = 0.7 * peak.rate
        print(f"{args.store}: closed-loop peak {peak.rate:,.0f} cmd/s over 10 s; paced at 70%: {rate:,.0f} cmd/s")
        for run in range(args.runs):
            with Probes(args.fsync_probe) as probes:
                result = http_load(stack, clients=args.clients, seconds=args.seconds, total_rate=rate)
            report(run, result, probes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
