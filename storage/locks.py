"""The SQLite writer lock: one per database file and process, shared by the event store and the read model, and held
across processes through a lock file beside the database."""

from __future__ import annotations

import fcntl
import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from storage.config import StoreConfigError

_SQLITE_WRITERS: dict[str, WriterLock] = {}
_SQLITE_WRITERS_GUARD = threading.Lock()


class LockFile:
    """A file beside the database that processes `flock`, opened once per process: a descriptor inherited across
    fork would share the parent's locks."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None
        self._pid = 0

    def fd(self) -> int:
        if self._fd is None or self._pid != os.getpid():
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._fd

    @contextmanager
    def held(self, mode: int = fcntl.LOCK_EX) -> Iterator[int]:
        """The file locked (`mode`: LOCK_EX or LOCK_SH) for the block; yields its descriptor."""
        fd = self.fd()
        fcntl.flock(fd, mode)
        try:
            yield fd
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)


class WriterLock:
    """One writer at a time to one SQLite file: threads of this process queue on a lock, and processes on an
    exclusive `flock` of `<database>-writer.lock`.

    SQLite lets one writer in at a time, and a writer that finds the file locked sleeps in its busy handler (up to
    100 ms between tries) however soon the lock is freed. Writers queue here instead, and each is woken the moment the
    one before it is done, whichever process it is in. A process that dies holding the lock releases it with its
    file. A writer that does not take this lock (the sqlite3 shell, say) still meets SQLite's own lock.

    `flock` is not fair: the kernel wakes the waiters of a released lock, and a process whose next writer is already
    running takes it again before they wake, so one busy process could keep another out for seconds. So a writer
    passes a turnstile first, an `flock` of `<database>-writer.queue` held only until the writer lock is its own. The
    one process waiting at the writer lock holds the turnstile, so a process that has just let go of the writer lock
    waits behind it: when two processes contend they take turns."""

    def __init__(self, path: str) -> None:
        self._threads = threading.Lock()
        # The turnstile and the writer lock (none for an in-memory database, which no other process can open).
        self._files: tuple[LockFile, LockFile] | None = None
        if path != ":memory:":
            self._files = (LockFile(f"{path}-writer.queue"), LockFile(f"{path}-writer.lock"))

    def acquire(self, blocking: bool = True) -> bool:
        if not self._threads.acquire(blocking):
            return False
        if self._files is None:
            return True
        try:
            flags = fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB
            queue, writer = (file.fd() for file in self._files)
            fcntl.flock(queue, flags)
            try:
                fcntl.flock(writer, flags)
            finally:
                fcntl.flock(queue, fcntl.LOCK_UN)
        except BlockingIOError:
            self._threads.release()
            return False
        except BaseException:
            self._threads.release()
            raise
        return True

    def release(self) -> None:
        try:
            if self._files is not None:
                fcntl.flock(self._files[1].fd(), fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def locked(self) -> bool:
        """Whether a thread of this process holds it."""
        return self._threads.locked()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.release()


def sqlite_writer_lock(path: str) -> WriterLock:
    """The lock every writer to this SQLite file takes: the event store and the read model (see WriterLock)."""
    key = path if path == ":memory:" else str(Path(path).resolve())
    with _SQLITE_WRITERS_GUARD:
        return _SQLITE_WRITERS.setdefault(key, WriterLock(key))


class StoreOpen:
    """`<database>-open.lock`: every process that has the SQLite store open (a web worker, a `tracker` command) holds
    it shared for as long as it has; a restore takes it exclusive, so it refuses while any process has the store
    open, and keeps any from opening it until it is done."""

    def __init__(self, database: str) -> None:
        # One file however the store's path is written (relative, absolute), as the writer lock's.
        self.path = f"{Path(database).resolve()}-open.lock"
        self._held: weakref.finalize | None = None

    def hold(self) -> None:
        """Hold it shared (waiting while a restore runs), until released or until this object is collected. In a
        folder this process may not write, where the file cannot be made, nothing is held: no restore can write
        there either."""
        if self._held is None:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError:
                try:
                    fd = os.open(self.path, os.O_RDONLY)
                except OSError:
                    return
            fcntl.flock(fd, fcntl.LOCK_SH)
            self._held = weakref.finalize(self, os.close, fd)

    def release(self) -> None:
        if self._held is not None:
            self._held()
            self._held = None

    @contextmanager
    def alone(self) -> Iterator[bool]:
        """Hold it exclusive for the block, if no process has the store open: yields whether it could. The store's
        folder is made where there is none (a restore onto a new machine)."""
        try:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as error:
            raise StoreConfigError(f"cannot lock {self.path}: {error.strerror}") from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(fd)
