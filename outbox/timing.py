"""How long the outbox's sends may take, and so how long a claim must last: read by the settings at start-up,
without the rest of the outbox."""

from __future__ import annotations

from datetime import timedelta

# How long a webhook's connection, and then its answer, may take (TRACKER_OUTBOX_SEND_TIMEOUT): an attempt takes
# at most twice this, the name's look-up aside; an e-mail's whole conversation, twice this too.
TIMEOUT = 10.0
MAX_SEND_TIMEOUT = 60.0
# How long a claimed send is left to its worker before another may send it again (TRACKER_OUTBOX_LEASE_SECONDS).
LEASE = timedelta(seconds=30)
# Time kept at the end of a claim for recording a lane's outcomes, and the least a lane may spend sending.
RECORD_MARGIN = 5.0
LEAST_LANE_TIME = 5.0


def least_lease(timeout: float) -> timedelta:
    """The shortest lease with room for a lane to send (LEAST_LANE_TIME), its last send to take its longest, and its
    outcomes to be recorded before the claim lapses: a send still running when it lapses would be sent again."""
    return timedelta(seconds=LEAST_LANE_TIME + 2 * timeout + RECORD_MARGIN)
