"""The load generator: client threads sending the write mix over HTTP, recorded in the client-side ledger."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from soak.client import Cast, HttpClient, Key
from soak.ledger import DECISION_EVENTS, Ledger
from soak.portfolio import Innovation, Portfolio
from tracker.rubric import CURRENT_RUBRIC
from tracker.stages import STAGES

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
PINNED = 0.25  # share of assessments and evidence that send If-Match although it is optional there
THEMES = ("digital badges", "dual learning", "green skills", "mobility", "NEET outreach")


class Client(HttpClient):
    """One load client: the write mix over its own connection, and its own innovations."""

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
        super().__init__(base, cast, ledger, portfolio, timeout=timeout, keep_alive=keep_alive)
        self.rng = random.Random(seed)  # noqa: S311 - the shape of the load, not security
        self.mine: list[str] = []
        self.serial = 0

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
        if evaluator.name not in target.assigned_in_stage and not self.assign(target, evaluator):
            return
        scores = {k: self.rng.choice((2, 3, 3, 4, 4, None)) for k in CURRENT_RUBRIC.keys}
        # At least 60% of the weight is always assessable, as rubric v1.1 asks.
        scores.update({k: self.rng.choice((3, 4)) for k in ("relevance", "effectiveness", "transferability")})
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

    def assign(self, target: Innovation, evaluator: Key) -> bool:
        """The manager assigns the evaluator at the innovation's current stage; whether they are assigned now."""
        status, data = self.write(
            "assign",
            "POST",
            self._path(target, "/assignments"),
            self.cast.manager,
            {"evaluator_id": evaluator.name},
            target=target,
        )
        assigned = status == 201 or (
            status == 409 and isinstance(data, dict) and data.get("rule") == "assignment.duplicate"
        )
        if assigned:
            with self.portfolio.lock:
                target.assigned_in_stage.add(evaluator.name)
        return assigned

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
            self.cast.manager,
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
        # Another organisation sees (and so adopts) an innovation only once it is past identification.
        target = self._pick(
            lambda i: i.status in ("active", "mainstreamed") and not i.adopted and i.stage != "identification"
        )
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
