"""Background threads leave the process's global `random` state alone.

Hypothesis warns (an error in this suite) when that state moves while it draws a test's data, taking it for a
strategy that uses `random`; a thread of the pool or of a sender drawing at that moment failed a property test at
random. Each draws from a generator of its own instead.
"""

from __future__ import annotations

import inspect
import random

from psycopg_pool.base import BasePool

from outbox.sending import Sender, delay_after


def test_the_connection_pool_jitter_leaves_the_global_random_state_alone() -> None:
    before = random.getstate()
    BasePool._jitter(3600.0, -0.05, 0.0)
    assert random.getstate() == before


def test_the_senders_retry_jitter_leaves_the_global_random_state_alone() -> None:
    rand = inspect.signature(Sender).parameters["rand"].default
    before = random.getstate()
    assert delay_after(1, rand) is not None
    assert random.getstate() == before
