"""Writers to one SQLite file in one process queue on one lock: the event store's saves and the read model's batches."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from projections.read_model import ReadModel
from storage.locks import sqlite_writer_lock
from tests.world import build_world
from tracker.actors import Actor

ADMIN = Actor("admin-1", "admin")


def test_one_lock_per_file_whatever_the_path_spelling(tmp_path: Path) -> None:
    first, second = tmp_path / "a.db", tmp_path / "b.db"
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert sqlite_writer_lock("a.db") is sqlite_writer_lock(str(first))
        assert sqlite_writer_lock(str(tmp_path / "sub" / ".." / "a.db")) is sqlite_writer_lock(str(first))
    finally:
        os.chdir(cwd)
    assert sqlite_writer_lock(str(first)) is not sqlite_writer_lock(str(second))


def _blocked_while_held(lock: threading.Lock, action: object) -> tuple[bool, bool]:
    """Run `action` in a thread while `lock` is held: (finished while held, finished after release)."""
    done = threading.Event()
    thread = threading.Thread(target=lambda: (action(), done.set()))  # type: ignore[operator]
    with lock:
        thread.start()
        finished_while_held = done.wait(0.3)
    finished_after = done.wait(10)
    thread.join(10)
    return finished_while_held, finished_after


def test_saves_and_projection_batches_wait_for_the_files_writer_lock(sqlite_read_model: ReadModel) -> None:
    read_model, app = sqlite_read_model, sqlite_read_model.app
    assert read_model.config.path is not None
    lock = sqlite_writer_lock(read_model.config.path)
    register = lambda: app.register_organisation(actor=ADMIN, name="Held VET", country="LT", kind="vet_provider")  # noqa: E731
    assert _blocked_while_held(lock, register) == (False, True)
    assert app.current_position() == 1
    assert _blocked_while_held(lock, read_model.catch_up) == (False, True)
    assert read_model.position() == 1


def test_threads_writing_and_projecting_together_lose_nothing(sqlite_read_model: ReadModel) -> None:
    read_model, app = sqlite_read_model, sqlite_read_model.app
    world = build_world(app)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(15):
                receipt = app.submit_innovation(
                    actor=world.provider, title=f"Idea {n}-{i}", summary="s", themes=["x"], organisation_id=world.owner
                )
                assert receipt.position is not None
                assert read_model.wait_for(receipt.position, timeout=30)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert read_model.position() == app.current_position()


def test_a_writer_in_another_process_holds_the_lock_and_its_death_frees_it(sqlite_read_model: ReadModel) -> None:
    read_model, app = sqlite_read_model, sqlite_read_model.app
    assert read_model.config.path is not None
    command = [sys.executable, "-c", _HOLD, read_model.config.path]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as holder:  # noqa: S603 - our own code
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline().strip() == "held"
            done = threading.Event()
            register = lambda: (  # noqa: E731
                app.register_organisation(actor=ADMIN, name="Waited VET", country="LT", kind="vet_provider"),
                done.set(),
            )
            thread = threading.Thread(target=register)
            thread.start()
            assert not done.wait(0.5), "a save went ahead while another process held the writer lock"
            holder.kill()  # dies holding it: the lock goes with the process
            assert done.wait(10)
            thread.join(10)
        finally:
            holder.kill()
    assert app.current_position() == 1


# Another process's writer: takes the file's writer lock as the tracker does, says so, and holds it until killed.
_HOLD = """
import sys, time
from storage.locks import sqlite_writer_lock
lock = sqlite_writer_lock(sys.argv[1])
lock.acquire()
print("held", flush=True)
time.sleep(60)
"""


def test_two_processes_contending_for_the_lock_take_turns(tmp_path: Path) -> None:
    """A process that takes the lock again the moment it lets go (as a busy worker's next writer does) gets it at
    at most a few times while this one waits, and this one, asking again at once too, does not keep it out.
    Without the turnstile the other process wins nearly every race, so this one waits through many of its holds."""
    database, counter = str(tmp_path / "turns.db"), tmp_path / "holds"
    counter.write_bytes(b"0".rjust(20))
    command = [sys.executable, "-c", _TAKE_AGAIN_AND_AGAIN, database, str(counter)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as busy:  # noqa: S603 - our own code
        try:
            assert busy.stdout is not None
            assert busy.stdout.readline().strip() == "busy"
            lock = sqlite_writer_lock(database)
            holds_while_waiting = []
            for _ in range(20):
                before = int(counter.read_bytes())
                with lock:
                    holds_while_waiting.append(int(counter.read_bytes()) - before)
                    assert busy.poll() is None
                    time.sleep(0.002)
        finally:
            busy.kill()
    # Three, not two: this process may be held up for a hold or so between reading the counter and asking.
    assert max(holds_while_waiting) <= 3, holds_while_waiting
    assert sum(holds_while_waiting) >= 1, holds_while_waiting


# Another process's busy writers: take the file's writer lock, hold it 10 ms, let go and at once take it again; each
# hold adds one to the counter file. (The holds give a woken waiter time to run on a busy machine.)
_TAKE_AGAIN_AND_AGAIN = """
import os, sys, time
from storage.locks import sqlite_writer_lock
lock = sqlite_writer_lock(sys.argv[1])
counter = os.open(sys.argv[2], os.O_RDWR)
print("busy", flush=True)
holds = 0
while True:
    with lock:
        holds += 1
        os.pwrite(counter, str(holds).encode().rjust(20), 0)
        time.sleep(0.01)
"""
