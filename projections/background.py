"""Projections in a thread of the web process, in batches, instead of inside each write request.

A write is acknowledged as soon as its events are stored; this process's projection thread applies them shortly
after, together with whatever else was written meanwhile, so one batch's fixed cost (reading the tracking rows, the
chain head, the innovations, one commit) is paid once for many writes instead of once for each. Reads in this process
still see every write it acknowledged before they started: a read that finds such a write not yet projected applies
it itself (see caught_up).
"""

from __future__ import annotations

import threading

import structlog

from projections.following import STORE_UNAVAILABLE
from projections.migrate import SchemaMismatch
from projections.read_model import ReadModel

log = structlog.get_logger("tracker.projections")

# After a write wakes the thread, how long it waits for more writes to join the batch.
SETTLE_SECONDS = 0.02
# With no write in this process, how often the log is looked at for other processes' writes (a CLI import, say).
POLL_SECONDS = 0.05
MAX_BACKOFF_SECONDS = 5.0


class BackgroundProjection:
    """Follows the log for one ReadModel in a daemon thread; woken by this process's writes."""

    def __init__(self, read_model: ReadModel, *, settle: float = SETTLE_SECONDS, poll: float = POLL_SECONDS) -> None:
        self.read_model = read_model
        self.settle = settle
        self.poll = poll
        self._acknowledged = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Why the last batch was refused for the schema's revision, if it was (logged when it changes).
        self._refused: str | None = None

    @property
    def acknowledged(self) -> int:
        """The highest log position of a write this process has acknowledged."""
        return self._acknowledged

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="tracker-projections", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def written(self, position: int) -> None:
        """A write up to `position` was stored and is about to be acknowledged: project it soon."""
        with self._lock:
            if position > self._acknowledged:
                self._acknowledged = position
        self._wake.set()

    def caught_up(self, timeout: float, *, at_least: int = 0) -> bool:
        """Make sure every write this process acknowledged (and the log up to `at_least`: what other processes
        acknowledged) is projected, applying it in this thread if need be.

        False when that did not happen within `timeout` or failed (logged): the caller answers from what is there."""
        target = max(self._acknowledged, at_least)
        if target <= self.read_model.reached:
            return True
        try:
            return self.read_model.wait_for(target, timeout)
        except Exception:  # a read answers from the read model as it is; the thread retries the batch
            log.exception("projection_catch_up_failed", position=target)
            return False

    def _run(self) -> None:
        backoff = self.poll
        while not self._stop.is_set():
            if self._wake.wait(self.poll):
                # Let the writes in flight join this batch; a read that cannot wait applies the batch itself.
                self._stop.wait(self.settle)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.read_model.catch_up()
                backoff = self.poll
                self._refused = None
            except Exception as error:  # a failed batch is retried: its rows and tracked position were rolled back
                if isinstance(error, SchemaMismatch):
                    # Until the schema or this process changes: said once, not at every retry.
                    if str(error) != self._refused:
                        log.error("projection_refused", reason=str(error), retry_in=MAX_BACKOFF_SECONDS)
                        self._refused = str(error)
                    backoff = MAX_BACKOFF_SECONDS
                elif isinstance(error, STORE_UNAVAILABLE):
                    log.warning("projection_store_unavailable", error=str(error), retry_in=backoff)
                else:
                    log.exception("projection_batch_failed", retry_in=backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
