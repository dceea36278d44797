"""Settings from the environment: a malformed one stops start-up with a message that names it, and the outbox's
lease leaves room for a lane's longest send and its record."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from outbox.timing import least_lease
from runtime.settings import Settings

BASE = {"TRACKER_DATABASE_URL": "memory://"}
NUMBERS = (
    "TRACKER_READ_WAIT_TIMEOUT",
    "TRACKER_POOL_SIZE",
    "TRACKER_PROJECTION_BATCH_SIZE",
    "TRACKER_TRUSTED_PROXIES",
    "TRACKER_READ_WAITERS",
    "TRACKER_THREADS",
    "TRACKER_READY_MAX_LAG",
    "TRACKER_READY_MAX_LAG_SECONDS",
    "TRACKER_IMPORT_MAX_BYTES",
    "TRACKER_SESSION_IDLE_MINUTES",
    "TRACKER_OUTBOX_LEASE_SECONDS",
    "TRACKER_OUTBOX_SEND_TIMEOUT",
)
ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", NUMBERS)
@pytest.mark.parametrize("value", ["abc", "nan", "1e999", ""])
def test_a_number_that_is_not_one_names_its_setting(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=f"^{name} must be a (whole )?number, not '{value}'$"):
        Settings.from_env(BASE | {name: value})


SWITCHES = (
    "TRACKER_INLINE_PROJECTIONS",
    "TRACKER_INLINE_OUTBOX",
    "TRACKER_HSTS",
    "TRACKER_SECURE_COOKIES",
    "TRACKER_WEBHOOKS_ALLOW_PRIVATE",
    "TRACKER_GROUP_COMMIT",
)


@pytest.mark.parametrize("name", SWITCHES)
def test_a_switch_is_on_or_off_and_anything_else_names_it(name: str) -> None:
    for on in ("1", "on", "Yes", "TRUE"):
        assert Settings.from_env(BASE | {name: on}) is not None
    with pytest.raises(ValueError, match=f"^{name} must be 1 or 0 \\(on or off\\), not 'maybe'$"):
        Settings.from_env(BASE | {name: "maybe"})


def test_switches_take_the_values_they_name() -> None:
    on = Settings.from_env(BASE | {"TRACKER_GROUP_COMMIT": "on", "TRACKER_INLINE_PROJECTIONS": "yes"})
    off = Settings.from_env(BASE | {"TRACKER_GROUP_COMMIT": "off", "TRACKER_INLINE_PROJECTIONS": "0"})
    assert (on.group_commit, on.inline_projections, off.group_commit, off.inline_projections) == (
        True,
        True,
        False,
        False,
    )


def test_the_lease_leaves_room_for_the_longest_send_and_its_record() -> None:
    assert least_lease(10.0).total_seconds() == 30.0  # the defaults: a 10 s send timeout and a 30 s lease
    assert Settings.from_env(BASE).outbox_lease_seconds == 30.0
    with pytest.raises(ValueError, match="TRACKER_OUTBOX_LEASE_SECONDS must be at least 30 with a send timeout of 10"):
        Settings.from_env(BASE | {"TRACKER_OUTBOX_LEASE_SECONDS": "11"})
    short = Settings.from_env(BASE | {"TRACKER_OUTBOX_LEASE_SECONDS": "14", "TRACKER_OUTBOX_SEND_TIMEOUT": "2"})
    assert (short.outbox_lease_seconds, short.outbox_send_timeout) == (14.0, 2.0)
    for lease in ("1e14", "1e300", "90000"):
        with pytest.raises(ValueError, match="TRACKER_OUTBOX_LEASE_SECONDS must be at most 86400"):
            Settings.from_env(BASE | {"TRACKER_OUTBOX_LEASE_SECONDS": lease})
    for timeout in ("0", "-1", "61"):
        with pytest.raises(ValueError, match="TRACKER_OUTBOX_SEND_TIMEOUT must be above 0 and at most 60"):
            Settings.from_env(BASE | {"TRACKER_OUTBOX_SEND_TIMEOUT": timeout, "TRACKER_OUTBOX_LEASE_SECONDS": "500"})


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("TRACKER_WORKERS", "abc", "TRACKER_WORKERS must be a whole number, not 'abc'"),
        ("TRACKER_WORKERS", "0", "TRACKER_WORKERS must be 1 or more, not 0"),
        ("TRACKER_POOL_SIZE", "abc", "TRACKER_POOL_SIZE must be a whole number, not 'abc'"),
        ("TRACKER_INLINE_PROJECTIONS", "maybe", "TRACKER_INLINE_PROJECTIONS must be 1 or 0"),
    ],
)
def test_gunicorn_stops_on_a_malformed_setting_with_its_name_and_no_traceback(name: str, value: str, said: str) -> None:
    answer = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--check-config", "wsgi:app"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", name: value},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert answer.returncode != 0
    assert said in answer.stderr
    assert "Traceback" not in answer.stderr
