"""The gunicorn entry point of `python -m bench.tail`: the real app, with timings of where each request's time went.

`gunicorn -c gunicorn.conf.py bench.tail_worker:app`, with BENCH_TAIL_LOG naming a file. Records, as JSON lines
flushed every half second:
- each request: its X-Request-ID, when the worker began it, its wall time, the CPU its thread used, and how long it
  waited for this process's SQLite writer lock (storage.locks.sqlite_writer_lock);
- each hold of that lock of 5 ms or more, by any thread (the projection thread's batches among them), with the CPU
  the holding thread used meanwhile: a hold with little CPU waited on something else, such as the disk;
- each cyclic garbage collection of 2 ms or more, which stops every thread of the worker.
The measurements cost a few microseconds per request; nothing of this runs in the tracker itself.
"""

from __future__ import annotations

import atexit
import gc
import json
import os
import threading
import time
from typing import Any

from storage import locks
from storage.config import DEFAULT_DATABASE_URL, StoreConfig

LOG_PATH = os.environ["BENCH_TAIL_LOG"]
HOLD_MS = 5.0
GC_MS = 2.0
_records: list[dict[str, Any]] = []
_records_lock = threading.Lock()
_thread = threading.local()


def _record(kind: str, **values: Any) -> None:
    with _records_lock:
        _records.append({"kind": kind, **values})


def _flush() -> None:
    with _records_lock:
        pending = _records[:]
        _records.clear()
    if pending:
        with open(LOG_PATH, "a", encoding="utf-8") as out:
            out.writelines(json.dumps(r) + "\n" for r in pending)


def _flush_every(seconds: float) -> None:
    while True:
        time.sleep(seconds)
        _flush()


class TimedLock:
    """Stands in for the process's SQLite writer lock: the same lock, with its waits and holds measured."""

    def __init__(self, lock: locks.WriterLock) -> None:
        self._lock = lock

    def acquire(self, blocking: bool = True) -> bool:
        started = time.perf_counter()
        got = self._lock.acquire(blocking)
        if got:
            now = time.perf_counter()
            _thread.lock_wait = getattr(_thread, "lock_wait", 0.0) + (now - started)
            _thread.held_since = (now, time.thread_time(), time.time())
        return got

    def release(self) -> None:
        started, cpu, wall = _thread.held_since
        held_ms = (time.perf_counter() - started) * 1000
        self._lock.release()
        if held_ms >= HOLD_MS:
            _record(
                "hold",
                thread=threading.current_thread().name,
                at=wall,
                ms=held_ms,
                cpu_ms=(time.thread_time() - cpu) * 1000,
            )

    def locked(self) -> bool:
        return self._lock.locked()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *_: object) -> None:
        self.release()


def _instrument_writer_lock() -> None:
    config = StoreConfig.from_url(os.environ.get("TRACKER_DATABASE_URL", DEFAULT_DATABASE_URL))
    if config.kind == "sqlite" and config.path:
        lock = locks.sqlite_writer_lock(config.path)
        key = next(k for k, v in locks._SQLITE_WRITERS.items() if v is lock)
        locks._SQLITE_WRITERS[key] = TimedLock(lock)  # type: ignore[assignment]


_gc_started: list[float] = []


def _on_gc(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _gc_started[:] = [time.perf_counter(), time.time()]
    elif _gc_started:
        ms = (time.perf_counter() - _gc_started[0]) * 1000
        if ms >= GC_MS:
            _record("gc", at=_gc_started[1], ms=ms, generation=info["generation"])


_instrument_writer_lock()
from wsgi import app as _app  # noqa: E402 - after the lock is instrumented, before the app takes it

gc.callbacks.append(_on_gc)
threading.Thread(target=_flush_every, args=(0.5,), name="bench-tail-flush", daemon=True).start()
atexit.register(_flush)


def app(environ: dict[str, Any], start_response: Any) -> Any:
    began, started, cpu = time.time(), time.perf_counter(), time.thread_time()
    _thread.lock_wait = 0.0
    try:
        return _app(environ, start_response)
    finally:
        _record(
            "request",
            id=environ.get("HTTP_X_REQUEST_ID", ""),
            path=environ.get("PATH_INFO", ""),
            at=began,
            ms=(time.perf_counter() - started) * 1000,
            cpu_ms=(time.thread_time() - cpu) * 1000,
            lock_wait_ms=_thread.lock_wait * 1000,
        )
