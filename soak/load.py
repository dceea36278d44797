"""The load generator: the write mix over HTTP, with a client-side ledger of every write and what became of it."""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tracker.rubric import CURRENT_RUBRIC
from tracker.stages import STAGES

# The event each kind of write records; a decision's event depends on the decision.
EVENTS = {
    "submit": "Submitted",
    "assess": "AssessmentRecorded",
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
MIX = {
    "submit": 12,
    "assess": 28,
    "decide": 20,
    "pilot": 8,
    "outcome": 6,
    "evidence": 10,
    "revise": 8,
    "adopt": 8,
}
SHARED = 0.25  # share of commands aimed at any client's innovation, so that If-Match races happen
PINNED = 0.25  # share of assessments and evidence that send If-Match although it is optional there
THEMES = ("digital badges", "dual learning", "green skills", "mobility", "NEET outreach")


@dataclass(frozen=True)
class Key:
    token: str
    name: str  # the key's name is the actor id on every event it causes


@dataclass(frozen=True)
class Cast:
    """The keys the load uses, and the organisation that adopts innovations."""

    provider: Key
    site_provider: Key
    site: str
    evaluators: tuple[Key, ...]
    analyst: Key


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


@dataclass
class Innovation:
    """What the clients believe about one innovation (possibly stale: other clients write it too)."""

    id: str
    version: int
    stage: str = "identification"
    status: str = "active"
    open_pilots: list[str] = field(default_factory=list)
    has_outcome: bool = False
    has_evidence: bool = False
    adopted: bool = False
    assessed_in_stage: set[str] = field(default_factory=set)

    def gate_met(self) -> bool:
        if self.stage == "identification":
            return bool(self.assessed_in_stage)
        if self.stage == "testing":
            return self.has_outcome
        if self.stage == "development":
            return self.has_evidence
        return self.stage == "assessment" and len(self.assessed_in_stage) >= 2


class Portfolio:
    """Every innovation the clients created, shared so that clients sometimes write the same one at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: dict[str, Innovation] = {}

    def add(self, innovation: Innovation) -> None:
        with self.lock:
            self.items[innovation.id] = innovation

    def pick(self, rng: random.Random, own: list[str], accept: Callable[[Innovation], bool]) -> Innovation | None:
        with self.lock:
            pool = list(self.items) if rng.random() < SHARED or not own else own
            candidates = [self.items[i] for i in pool[-60:] if accept(self.items[i])]
        return rng.choice(candidates) if candidates else None

    def observe(self, innovation: Innovation, body: Any) -> None:
        """Take the state a write or read answered with, unless a newer one is already known."""
        if not isinstance(body, dict) or not isinstance(body.get("version"), int):
            return
        with self.lock:
            if body["version"] <= innovation.version:
                return
            innovation.version = body["version"]
            if body.get("stage") != innovation.stage:
                innovation.assessed_in_stage.clear()
            innovation.stage = body.get("stage", innovation.stage)
            innovation.status = body.get("status", innovation.status)


def _etag_version(value: str | None) -> int | None:
    text = (value or "").strip().removeprefix("W/").strip('"')
    return int(text) if text.isdigit() else None


class Client:
    """One HTTP client: keep-alive connection, the write mix, and its own innovations."""

    def __init__(
        self,
        base: str,
        cast: Cast,
        ledger: Ledger,
        portfolio: Portfolio,
        seed: int,
        *,
        timeout: float = 20.0,
        keep_alive: bool = True,
    ) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.cast, self.ledger, self.portfolio = cast, ledger, portfolio
        self.rng = random.Random(seed)  # noqa: S311 - the shape of the load, not security
        self.timeout, self.keep_alive = timeout, keep_alive
        self.conn: http.client.HTTPConnection | None = None
        self.mine: list[str] = []
        self.position = 0
        self.serial = 0

    # ---- transport -------------------------------------------------------------------------

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def send(
        self, method: str, path: str, key: Key, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int | None, dict[str, str], Any, str]:
        """One request; (None, {}, None, id) when no answer came back."""
        request_id = uuid.uuid4().hex
        sent = {"Authorization": f"Bearer {key.token}", "X-Request-ID": request_id, **(headers or {})}
        if body is not None:
            sent["Content-Type"] = "application/json"
        if not self.keep_alive:
            sent["Connection"] = "close"
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self.conn.request(method, path, body=None if body is None else json.dumps(body), headers=sent)
            response = self.conn.getresponse()
            payload = response.read()
            if response.will_close or not self.keep_alive:
                self.close()
        except (OSError, http.client.HTTPException):
            self.close()
            time.sleep(0.1)  # no server answered: back off a little, as a real client would
            return None, {}, None, request_id
        answer = {k.lower(): v for k, v in response.getheaders()}
        try:
            data = json.loads(payload) if payload else None
        except ValueError:
            data = None
        return response.status, answer, data, request_id

    def write(
        self,
        kind: str,
        method: str,
        path: str,
        key: Key,
        body: Any,
        *,
        target: Innovation | None = None,
        if_match: int | None = None,
        event_type: str | None = None,
    ) -> tuple[int | None, Any]:
        headers = {"If-Match": f'"{if_match}"'} if if_match is not None else {}
        sent_at = time.time()
        status, answer, data, request_id = self.send(method, path, key, body, headers)
        answered_at = time.time()
        body_ = data if isinstance(data, dict) else {}
        ok = status is not None and 200 <= status < 300
        raw_position = answer.get("x-event-position", "")
        position = int(raw_position) if raw_position.isdigit() else None
        item = body_.get(ITEM_FIELDS[kind]) if ok and kind in ITEM_FIELDS else None
        self.ledger.add(
            Write(
                request_id=request_id,
                kind=kind,
                actor=key.name,
                sent_at=sent_at,
                answered_at=answered_at,
                status=status,
                aggregate_id=target.id if target else (str(body_["id"]) if ok and "id" in body_ else None),
                version=_etag_version(answer.get("etag")) if ok else None,
                position=position if ok else None,
                event_type=event_type or EVENTS.get(kind),
                item_id=str(item) if item is not None else None,
                if_match=if_match,
                detail=None if ok else str(body_.get("detail", ""))[:300] or None,
            )
        )
        if position is not None:
            self.position = max(self.position, position)
        if status == 503:
            time.sleep(0.2)  # the store is away: pause as a client honouring Retry-After would, if less long
        if ok and target is not None:
            self.portfolio.observe(target, data)
        return status, data

    def refresh(self, target: Innovation) -> None:
        """Read the innovation again (after a 412): its version, stage and status."""
        status, _, data, _ = self.send(
            "GET",
            f"/api/v1/innovations/{target.id}",
            self.cast.analyst,
            headers={"X-Min-Position": str(self.position)},
        )
        self.ledger.read(status)
        if status == 200:
            self.portfolio.observe(target, data)

    # ---- the write mix ---------------------------------------------------------------------

    def step(self) -> None:
        kind = self.rng.choices(list(MIX), weights=list(MIX.values()))[0]
        getattr(self, kind)()

    def _pick(self, accept: Callable[[Innovation], bool]) -> Innovation | None:
        return self.portfolio.pick(self.rng, self.mine, accept)

    def _path(self, target: Innovation, tail: str = "") -> str:
        return f"/api/v1/innovations/{target.id}{tail}"

    def submit(self) -> int | None:
        self.serial += 1
        body = {"title": f"Soak pilot {self.serial}", "summary": "Soak load", "themes": [self.rng.choice(THEMES)]}
        status, data = self.write("submit", "POST", "/api/v1/innovations", self.cast.provider, body)
        if status == 201 and isinstance(data, dict):
            innovation = Innovation(str(data["id"]), int(data["version"]))
            self.portfolio.add(innovation)
            self.mine.append(innovation.id)
        return status

    def assess(self) -> None:
        target = self._pick(lambda i: i.status == "active")
        if target is None:
            self.submit()
            return
        evaluator = self.rng.choice(self.cast.evaluators)
        scores = {k: self.rng.choice((2, 3, 3, 4, 4, None)) for k in CURRENT_RUBRIC.keys}
        scores["relevance"] = self.rng.choice((3, 4))  # at least one criterion is always assessable
        pinned = target.version if self.rng.random() < PINNED else None
        status, data = self.write(
            "assess",
            "POST",
            self._path(target, "/assessments"),
            evaluator,
            {"scores": scores, "rationale": "soak"},
            target=target,
            if_match=pinned,
        )
        if status == 201 and isinstance(data, dict) and data.get("stage") == target.stage:
            with self.portfolio.lock:
                target.assessed_in_stage.add(evaluator.name)
        elif status == 412:
            self.refresh(target)

    def decide(self) -> None:
        target = self._pick(lambda i: i.status in ("active", "on_hold"))
        if target is None:
            self.submit()
            return
        roll = self.rng.random()
        body: dict[str, Any] = {"rationale": "soak"}
        if target.status == "on_hold":
            body["decision"] = "discontinue" if roll < 0.05 else "resume"
        elif roll < 0.03:
            body["decision"] = "discontinue"
        elif roll < 0.08 and STAGES.index(target.stage) >= 2:
            body.update(decision="recycle", to_stage="identification")
        elif roll < 0.3 or not target.gate_met():
            body["decision"] = "hold" if roll < 0.2 else "advance"
        else:
            body["decision"] = "advance"
        status, _ = self.write(
            "decide",
            "POST",
            self._path(target, "/decisions"),
            self.rng.choice(self.cast.evaluators),
            body,
            target=target,
            if_match=target.version,
            event_type=DECISION_EVENTS[body["decision"]],
        )
        if status == 412:
            self.refresh(target)

    def pilot(self) -> None:
        target = self._pick(lambda i: i.status == "active" and len(i.open_pilots) < 2)
        if target is None:
            self.submit()
            return
        body = {"site_organisation_id": self.cast.site, "started_on": "2025-01-10", "planned_participants": 20}
        status, data = self.write(
            "pilot", "POST", self._path(target, "/pilots"), self.cast.provider, body, target=target
        )
        if status == 201 and isinstance(data, dict):
            with self.portfolio.lock:
                target.open_pilots.append(str(data["pilot_id"]))

    def outcome(self) -> None:
        target = self._pick(lambda i: i.status == "active" and bool(i.open_pilots))
        if target is None:
            self.pilot()
            return
        with self.portfolio.lock:
            if not target.open_pilots:
                return
            pilot = target.open_pilots.pop(0)
        body = {"ended_on": "2025-05-01", "participants": 18, "completion_rate": round(self.rng.uniform(0.5, 1), 2)}
        status, _ = self.write(
            "outcome",
            "POST",
            self._path(target, f"/pilots/{pilot}/outcome"),
            self.cast.provider,
            body,
            target=target,
        )
        if status == 201:
            target.has_outcome = True

    def evidence(self) -> None:
        target = self._pick(lambda i: i.status in ("active", "mainstreamed"))
        if target is None:
            self.submit()
            return
        self.serial += 1
        pinned = target.version if self.rng.random() < PINNED else None
        status, _ = self.write(
            "evidence",
            "POST",
            self._path(target, "/evidence"),
            self.cast.provider,
            {"kind": "report", "title": f"Soak report {self.serial}"},
            target=target,
            if_match=pinned,
        )
        if status == 201:
            target.has_evidence = True
        elif status == 412:
            self.refresh(target)

    def revise(self) -> None:
        target = self._pick(lambda i: i.status == "active")
        if target is None:
            self.submit()
            return
        self.serial += 1
        status, _ = self.write(
            "revise",
            "PATCH",
            self._path(target),
            self.cast.provider,
            {"title": f"Soak pilot revised {uuid.uuid4().hex[:8]}"},
            target=target,
            if_match=target.version,
        )
        if status == 412:
            self.refresh(target)

    def adopt(self) -> None:
        target = self._pick(lambda i: i.status in ("active", "mainstreamed") and not i.adopted)
        if target is None:
            self.submit()
            return
        target.adopted = True
        self.write(
            "adopt",
            "POST",
            self._path(target, "/adoptions"),
            self.cast.site_provider,
            {"organisation_id": self.cast.site, "adopted_on": "2025-06-01"},
            target=target,
        )

    # ---- probes (used while PostgreSQL is down and to confirm recovery) ---------------------

    def probe_read(self) -> int | None:
        status, _, _, _ = self.send("GET", "/api/v1/innovations?page_size=1", self.cast.analyst)
        self.ledger.read(status)
        return status


def run_clients(
    base: str, cast: Cast, ledger: Ledger, portfolio: Portfolio, *, clients: int, seed: int, stop: threading.Event
) -> list[threading.Thread]:
    """Start `clients` threads sending the write mix until `stop` is set."""

    def loop(n: int) -> None:
        client = Client(base, cast, ledger, portfolio, seed * 1000 + n)
        try:
            while not stop.is_set():
                try:
                    client.step()
                except Exception as exc:  # a client bug must show in the report, not end the load silently
                    ledger.client_error(repr(exc))
                    time.sleep(0.1)
        finally:
            client.close()

    threads = [threading.Thread(target=loop, args=(n,), name=f"soak-client-{n}", daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    return threads
