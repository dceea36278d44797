"""What the load's clients believe about the innovations they created, shared between their threads."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

SHARED = 0.25  # share of commands aimed at any client's innovation, so that If-Match races happen


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
    # Evaluators assigned at the current stage (a stage change ends the round).
    assigned_in_stage: set[str] = field(default_factory=set)

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
            if body.get("stage", innovation.stage) != innovation.stage:
                innovation.assessed_in_stage.clear()
                innovation.assigned_in_stage.clear()
            innovation.stage = body.get("stage", innovation.stage)
            innovation.status = body.get("status", innovation.status)
