"""The projection worker rides out a database outage: it waits, with a growing pause, and carries on."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import OperationalError as StoreOperationalError
from sqlalchemy.exc import OperationalError

from projections import runner as runner_module
from projections.runner import ReadModel
from tests.world import build_world


def test_follow_waits_out_an_outage_and_then_projects_everything(
    read_model: ReadModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_world(read_model.app)
    monkeypatch.setattr(runner_module, "MAX_OUTAGE_WAIT", 0.02)
    real_catch_up = read_model.catch_up
    failures: list[Exception] = [
        OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly")),
        StoreOperationalError("connection refused"),
        psycopg.OperationalError("consuming input failed"),
    ]
    seen: list[tuple[str, float]] = []

    def flaky_catch_up(*args: Any, **kwargs: Any) -> int:
        if failures:
            raise failures.pop(0)
        applied = real_catch_up(*args, **kwargs)
        if applied == 0:
            read_model.stop()  # everything is projected: end the test's follower
        return applied

    monkeypatch.setattr(read_model, "catch_up", flaky_catch_up)
    # On PostgreSQL the follower also opens a LISTEN connection; the failures above come from catch-up either way.
    read_model.follow(idle_wait=0.01, on_outage=lambda error, pause: seen.append((type(error).__name__, pause)))
    assert [name for name, _ in seen] == ["OperationalError", "OperationalError", "OperationalError"]
    assert [pause for _, pause in seen] == [0.5, 0.02, 0.02]
    assert read_model.position() == read_model.app.current_position()


def test_follow_does_not_hide_other_errors(read_model: ReadModel, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("a bug in a handler")

    monkeypatch.setattr(read_model, "catch_up", broken)
    with pytest.raises(RuntimeError):
        read_model.follow(idle_wait=0.01)
