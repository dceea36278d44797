"""Shared benchmark plumbing: fresh stores, machine description, table printing."""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from projections.migrate import upgrade
from storage.schema import create_event_tables, drop_postgres_schema

PG_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@contextmanager
def fresh_store(kind: str) -> Iterator[str]:
    """A new, empty store with events and read-model schema; removed afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="tracker-bench-") as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            create_event_tables(url)
            upgrade(url)
            yield url
        return
    url = f"{PG_URL}?schema=bench_{uuid.uuid4().hex[:12]}"
    create_event_tables(url)
    upgrade(url)
    try:
        yield url
    finally:
        drop_postgres_schema(url)


def load_arguments(parser: argparse.ArgumentParser, *, store: str, seconds: float) -> None:
    """The options of every benchmark that drives the write mix over HTTP: the store, how long, how many clients."""
    parser.add_argument("--store", default=store, choices=["postgres", "sqlite"])
    parser.add_argument("--seconds", type=float, default=seconds)
    parser.add_argument("--clients", type=int, default=4)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.release()}, {os.cpu_count()} cores, {cpu}, Python {sys.version.split()[0]}"


def timed(run: Callable[[], int]) -> tuple[int, float]:
    started = time.perf_counter()
    count = run()
    return count, time.perf_counter() - started


def median(values: list[float]) -> float:
    return statistics.median(values)


def progress_line(label: str) -> Callable[[int], None]:
    last = [0.0]

    def report(done: int, *_: int) -> None:
        now = time.monotonic()
        if now - last[0] >= 2:
            last[0] = now
            print(f"  {label}: {done:,}", file=sys.stderr, flush=True)

    return report


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows]
    return "\n".join([line, rule, *body])
