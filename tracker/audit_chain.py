"""The audit chain: a SHA-256 hash chain over the stored event log in log order, and how to check it.

Each link is

    link(n) = SHA-256( bytes(link(n-1)) || field(position) || field(originator id) || field(originator version)
                       || field(topic) || field(state) )
    field(x) = 8-byte big-endian length of x || x

where the position and the originator version are ASCII decimals, the originator id is its canonical string (a
UUID's lower-case hyphenated form), the topic is UTF-8, and the state is the event's bytes exactly as stored
(after any compression or encryption). The link before the first event is GENESIS. Hashes are lower-case hex.

This module is pure: it knows neither where events nor where recorded links are kept.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from eventsourcing.persistence import Notification

GENESIS = hashlib.sha256(b"innovation-ecosystem-tracker audit chain v1").hexdigest()
HASH_RE = re.compile(r"^[0-9a-f]{64}$")

Reason = Literal["altered", "missing", "unexpected", "position_not_in_log", "hash_mismatch"]

REASONS: dict[str, str] = {
    "altered": "the stored event no longer hashes to the link recorded for it (altered, replaced or reordered)",
    "missing": "the chain recorded an event at this position, and the log no longer has it (deleted)",
    "unexpected": "the log has an event at this position that the chain never recorded (inserted)",
    "position_not_in_log": "the log has no event at the requested position",
    "hash_mismatch": "the log hashes to a different value at the requested position than the hash given",
}


@dataclass(frozen=True)
class Link:
    """One recorded link: the chain's hash after the event at `position`."""

    position: int
    hash: str


@dataclass(frozen=True)
class Verification:
    """The outcome of recomputing the chain from the stored events up to `position`."""

    ok: bool
    position: int
    hash: str | None
    expected_hash: str | None
    first_bad_position: int | None
    reason: Reason | None
    checked: int

    @property
    def detail(self) -> str:
        if self.ok:
            return f"the log matches its audit chain up to position {self.position} ({self.checked} events checked)"
        assert self.reason is not None
        where = f" at position {self.first_bad_position}" if self.first_bad_position is not None else ""
        return f"the log does not match{where}: {REASONS[self.reason]}"


def _as_bytes(value: object) -> bytes:
    # A tampered row may hold a value of another type (text in the state column, NULL topic): hash it, never fail.
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    return str(value).encode("utf-8")


def link_hash(previous: str, event: Notification) -> str:
    """The link after `event`, chained onto the link `previous`."""
    message = [bytes.fromhex(previous)]
    for value in (event.id, event.originator_id, event.originator_version, event.topic, event.state):
        part = _as_bytes(value)
        message += (len(part).to_bytes(8, "big"), part)
    return hashlib.sha256(b"".join(message)).hexdigest()


def chain(previous: str, events: Iterable[Notification]) -> Iterator[Link]:
    """The links for `events` (in log order), continuing from the link `previous`."""
    for event in events:
        previous = link_hash(previous, event)
        yield Link(event.id, previous)


def verify_chain(
    events: Iterable[Notification],
    links: Iterable[Link],
    *,
    position: int,
    chain_head: int,
    expected_hash: str | None = None,
) -> Verification:
    """Recompute the chain over `events` and compare it with the recorded `links`, both in log order up to `position`.

    Links are recorded up to `chain_head`; events after it are chained but have no link to compare with. The first
    disagreement names the first bad position. `expected_hash`, when given, is compared with the recomputed hash at
    `position`. Both inputs are consumed lazily, so they can stream from the stores.
    """
    pending = iter(links)
    link = next(pending, None)
    previous = GENESIS
    at_position = GENESIS if position == 0 else None
    first_bad: int | None = None
    reason: Reason | None = None
    checked = 0
    for event in events:
        if event.id > position:
            break
        recorded: str | None = None
        if first_bad is None:
            if link is not None and link.position < event.id:
                first_bad, reason = link.position, "missing"
            elif link is not None and link.position == event.id:
                recorded = link.hash
                link = next(pending, None)
            elif event.id <= chain_head:
                first_bad, reason = event.id, "unexpected"
        previous = link_hash(previous, event)
        checked += 1
        if recorded is not None and previous != recorded:
            first_bad, reason = event.id, "altered"
        if event.id == position:
            at_position = previous
    if first_bad is None and link is not None and link.position <= min(position, chain_head):
        first_bad, reason = link.position, "missing"
    if reason is None and at_position is None:
        reason = "position_not_in_log"
    if reason is None and expected_hash is not None and at_position != expected_hash:
        reason = "hash_mismatch"
    return Verification(
        ok=reason is None,
        position=position,
        hash=at_position,
        expected_hash=expected_hash,
        first_bad_position=first_bad,
        reason=reason,
        checked=checked,
    )
