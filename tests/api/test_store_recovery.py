"""A read connection the store dropped while the failed-sign-in counts were read: the request carries on, unchecked,
on a connection made usable again (before, the key check then failed with a 500)."""

from __future__ import annotations

from typing import Any

import pytest
from limits.errors import StorageError
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import text

from tests.api.conftest import Env
from web.read_connection import read_connection


def test_a_connection_lost_while_counting_failed_sign_ins_leaves_the_request_answerable(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    def lost(*_: Any, **__: Any) -> bool:
        conn = read_connection()
        conn.execute(text("SELECT 1"))  # a transaction is open, as when the counts were read on it
        conn.invalidate()  # the store dropped the connection under it
        raise StorageError(ConnectionError("server closed the connection unexpectedly"))

    monkeypatch.setattr(FixedWindowRateLimiter, "test", lost)
    answer = env.get("/api/v1/me", env.keys.analyst)
    assert answer.status_code == 200, answer.json
    assert answer.json["role"] == "analyst"
