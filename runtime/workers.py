"""Several web processes on one SQLite file: which of them follows the log, and how far their writes have gone.

- **One follower.** The projection and outbox threads run in one process only: the one holding an exclusive `flock`
  of `<database>-follower.lock`. The others look for the lock every FOLLOWER_RETRY_SECONDS and take over when its
  holder dies (the lock goes with the process).
- **Read-your-writes across processes.** Each process records the log position of every write it acknowledges in
  `<database>-acknowledged` (the highest one, under an `flock`). A read first makes sure the read model has reached
  that position, applying the missing events itself if need be, so it sees every write any process acknowledged
  before it began, whichever process the client reached. Writes of other programs (an import) do not hold reads up.
"""

from __future__ import annotations

import fcntl
import os
import struct
import threading
from collections.abc import Callable

import structlog

from storage.locks import LockFile

log = structlog.get_logger("tracker.workers")

FOLLOWER_RETRY_SECONDS = 1.0
_POSITION = struct.Struct("<q")


class AcknowledgedMark:
    """The highest log position any web process on this SQLite file has acknowledged (a file beside it)."""

    def __init__(self, database: str) -> None:
        self._file = LockFile(f"{database}-acknowledged")

    def advance(self, position: int) -> None:
        """Record an acknowledged write at `position` (the mark only ever moves forward)."""
        with self._file.held() as fd:
            if position > self._read(fd):
                os.pwrite(fd, _POSITION.pack(position), 0)

    def clamp(self, head: int) -> None:
        """Bring the mark back to the log's end `head` if it is beyond it."""
        with self._file.held() as fd:
            if self._read(fd) > head:
                os.pwrite(fd, _POSITION.pack(head), 0)

    def read(self) -> int:
        with self._file.held(fcntl.LOCK_SH) as fd:
            return self._read(fd)

    @staticmethod
    def _read(fd: int) -> int:
        data = os.pread(fd, _POSITION.size, 0)
        return _POSITION.unpack(data)[0] if len(data) == _POSITION.size else 0


class Follower:
    """Runs `start` once this process holds `<database>-follower.lock`: at once if no other process holds it, else as
    soon as it is free (looked for every FOLLOWER_RETRY_SECONDS, in a daemon thread)."""

    def __init__(self, database: str, start: Callable[[], None]) -> None:
        self._file = f"{database}-follower.lock"
        self._start = start
        self._fd: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def following(self) -> bool:
        return self._fd is not None

    def begin(self) -> None:
        if self._take():
            return
        self._thread = threading.Thread(target=self._wait, name="tracker-follower-election", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop waiting to follow, and let go of the lock if this process holds it (its threads are stopped)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _take(self) -> bool:
        fd = os.open(self._file, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd  # held for the life of the process
        log.info("follower_started", pid=os.getpid())
        self._start()
        return True

    def _wait(self) -> None:
        while not self._stop.wait(FOLLOWER_RETRY_SECONDS):
            if self._take():
                return
