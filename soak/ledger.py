"""The client-side ledger: every write the load sent, the event it should have recorded, and what became of it."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass

# The event each kind of write records; a decision's event depends on the decision.
EVENTS = {
    "submit": "Submitted",
    "assess": "AssessmentRecorded",
    "assign": "EvaluatorAssigned",
    "pilot": "PilotStarted",
    "outcome": "PilotOutcomeRecorded",
    "evidence": "EvidenceAdded",
    "revise": "DetailsRevised",
    "adopt": "AdoptionRecorded",
}
DECISION_EVENTS = {
    "advance": "Advanced",
    "hold": "PutOnHold",
    "resume": "Resumed",
    "recycle": "Recycled",
    "discontinue": "Discontinued",
}
# The response field naming the item a write created, checked against the stored event.
ITEM_FIELDS = {
    "assess": "assessment_id",
    "pilot": "pilot_id",
    "outcome": "pilot_id",
    "evidence": "evidence_id",
    "adopt": "adoption_id",
}


@dataclass(frozen=True)
class Write:
    """One write request and its answer; status None means no answer came (the connection dropped)."""

    request_id: str
    kind: str
    actor: str
    sent_at: float
    answered_at: float
    status: int | None
    aggregate_id: str | None = None
    version: int | None = None
    position: int | None = None
    event_type: str | None = None
    item_id: str | None = None
    if_match: int | None = None
    detail: str | None = None

    @property
    def acknowledged(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Ledger:
    """Every write the clients sent, and how many reads they made, by status."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.writes: list[Write] = []
        self.reads: Counter[int | None] = Counter()
        self.client_errors: list[str] = []

    def add(self, write: Write) -> None:
        with self._lock:
            self.writes.append(write)

    def read(self, status: int | None) -> None:
        with self._lock:
            self.reads[status] += 1

    def client_error(self, text: str) -> None:
        with self._lock:
            self.client_errors.append(text)

    def snapshot(self) -> list[Write]:
        with self._lock:
            return list(self.writes)
