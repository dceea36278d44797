"""Several web processes on one SQLite file (runtime.workers): one follower at a time, taken over when its holder
goes, and a mark of acknowledged positions that only moves forward."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from runtime.workers import AcknowledgedMark, Follower


def test_the_mark_moves_forward_only_and_is_shared_by_every_opener(tmp_path: Path) -> None:
    database = str(tmp_path / "tracker.db")
    one, other = AcknowledgedMark(database), AcknowledgedMark(database)
    assert one.read() == 0
    one.advance(7)
    other.advance(5)  # an older acknowledgement arriving late
    assert (one.read(), other.read()) == (7, 7)
    other.clamp(10)
    assert one.read() == 7
    other.clamp(3)  # a mark left beyond the log's end by another file of the same name
    assert one.read() == 3


def test_concurrent_advances_keep_the_highest(tmp_path: Path) -> None:
    database = str(tmp_path / "tracker.db")
    marks = [AcknowledgedMark(database) for _ in range(4)]

    def advance(mark: AcknowledgedMark, start: int) -> None:
        for position in range(start, 400, 4):
            mark.advance(position)

    threads = [threading.Thread(target=advance, args=(m, n)) for n, m in enumerate(marks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert marks[0].read() == 399


def test_one_follower_at_a_time_and_another_takes_over_when_it_goes(tmp_path: Path) -> None:
    database = str(tmp_path / "tracker.db")
    started: list[str] = []
    first = Follower(database, lambda: started.append("first"))
    second = Follower(database, lambda: started.append("second"))
    try:
        first.begin()
        second.begin()
        time.sleep(1.5)
        assert started == ["first"]
        assert first.following
        assert not second.following
        first.stop()  # the holder goes, as a killed process's lock goes with it
        deadline = time.monotonic() + 5
        while started != ["first", "second"]:
            assert time.monotonic() < deadline, "the second did not take over"
            time.sleep(0.05)
    finally:
        first.stop()
        second.stop()
