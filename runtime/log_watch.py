"""Waiting for the event log to grow, without holding a database connection while waiting.

One watcher per process serves every waiter: this process's writes wake them at once (`written`), and while anyone
waits, one thread looks at the log's head every POLL_SECONDS for other processes' writes, each look taking a
connection for one short query only."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import structlog

log = structlog.get_logger("tracker.log_watch")

POLL_SECONDS = 0.02


class LogWatch:
    """Lets threads wait until the log's head passes a position."""

    def __init__(self, head: Callable[[], int], *, poll: float = POLL_SECONDS) -> None:
        self._head = head
        self.poll = poll
        self._known = 0
        self._waiting = 0
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def written(self, position: int) -> None:
        """This process stored events up to `position`."""
        with self._changed:
            if position > self._known:
                self._known = position
                self._changed.notify_all()

    def wait_beyond(self, position: int, timeout: float) -> bool:
        """Wait until the log holds an event after `position` (True), or `timeout` seconds pass (False)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            self._waiting += 1
            self._start()
            try:
                while self._known <= position:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    self._changed.wait(left)
                return True
            finally:
                self._waiting -= 1

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="tracker-log-watch", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._changed:
                if self._waiting == 0:
                    self._thread = None
                    return
            try:
                self.written(self._head())
            except Exception as error:  # the store is away: waiters time out, and the next look tries again
                log.warning("log_watch_failed", error=str(error))
            time.sleep(self.poll)
