"""Reads under the confidentiality policy: an evaluator's queue, and the innovation list as a provider, an
evaluator and an analyst see it, over HTTP and in SQL.

The analyst reads everything (no policy condition in the SQL), so the same list read by the analyst is the reference
for the policy's cost: provider p95 / analyst p95 and evaluator p95 / analyst p95. The roles take turns request by
request, so a slow moment of a shared host falls on all of them alike."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from sqlalchemy import text

from access.keys import KeyStore
from access.policy import Viewer, scope
from bench.stack import Stack
from projections.queries import EVERYTHING, Scope
from projections.queries.evaluation import queue
from projections.queries.innovations import InnovationFilter, list_innovations
from projections.read_model import ReadModel

ROLES = ("provider", "evaluator", "analyst")
# The list reads, each by every role: the first page of 20, unfiltered and by stage.
LISTS = {"list": {}, "list stage=testing": {"stage": "testing"}}
# The same conditions as the queue's "pending" (projections.queries.evaluation.queue), counted per evaluator.
_PENDING = text(
    "SELECT a.evaluator_id, count(*) AS n FROM rm_assignments a JOIN rm_innovations i ON i.id = a.innovation_id"
    " WHERE a.assessed_at IS NULL AND a.seq = i.stage_seq AND i.status = 'active'"
    " GROUP BY a.evaluator_id ORDER BY n DESC, a.evaluator_id LIMIT 1"
)
_OWNERS = text(
    "SELECT organisation_id, count(*) AS n FROM rm_innovations GROUP BY organisation_id ORDER BY n DESC LIMIT 1"
)


class PanelKeys:
    """A person with a key for each of the portfolio's evaluators: `Portfolio(app, evaluator_id=PanelKeys(keys))`
    names them by person id, so the portfolio's assignments are the queues these keys read."""

    def __init__(self, keys: KeyStore) -> None:
        self.keys = keys
        self.tokens: dict[str, str] = {}

    def __call__(self, n: int, organisation_id: UUID) -> str:
        token, info = self.keys.create(name=f"bench-panel-{n}", role="evaluator", organisation_id=organisation_id)
        person_id = str(info.person_id)
        self.tokens[person_id] = token
        return person_id


@dataclass(frozen=True)
class Cast:
    """Who reads: the evaluator with the most pending assignments, a provider of the organisation that owns the
    most innovations, and (from the stack) an analyst."""

    evaluator_id: str
    evaluator_key: str
    pending: int
    provider_id: str
    provider_organisation: UUID
    provider_key: str
    owned: int

    def viewer(self, role: str) -> Viewer:
        if role == "provider":
            return Viewer(self.provider_id, "provider", self.provider_organisation)
        if role == "evaluator":
            return Viewer(self.evaluator_id, "evaluator", None)
        return Viewer("bench-analyst", "analyst", None)


def choose_cast(read_model: ReadModel, panel: PanelKeys) -> Cast:
    with read_model.reader.connect() as conn:
        evaluator_id, pending = conn.execute(_PENDING).one()
        organisation, owned = conn.execute(_OWNERS).one()
    organisation = UUID(str(organisation))
    provider_key, provider = panel.keys.create(
        name="bench-busiest-provider", role="provider", organisation_id=organisation
    )
    return Cast(
        evaluator_id, panel.tokens[evaluator_id], pending, str(provider.person_id), organisation, provider_key, owned
    )


def _timed(calls: dict[str, Callable[[], Any]], repeats: int) -> dict[str, list[float]]:
    """Each call `repeats` times, taking turns, in milliseconds."""
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            started = time.perf_counter()
            call()
            samples[name].append((time.perf_counter() - started) * 1000)
    return samples


def http_policy_reads(stack: Stack, cast: Cast, repeats: int) -> dict[str, list[float]]:
    """Over HTTP: "queue", and "<list> as <role>" for each list and role."""
    parts = urlsplit(stack.base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    keys = {"provider": cast.provider_key, "evaluator": cast.evaluator_key, "analyst": stack.analyst_key}

    def get(path: str, key: str) -> Any:
        conn.request("GET", path, headers={"Authorization": f"Bearer {key}", "Accept": "application/json"})
        response = conn.getresponse()
        body = response.read()
        assert response.status == 200, (path, response.status, body[:300])
        return json.loads(body)

    items = get("/api/v1/me/assignments", cast.evaluator_key)["items"]
    assert len(items) == cast.pending, (len(items), cast.pending)
    samples = _timed({"queue": lambda: get("/api/v1/me/assignments", cast.evaluator_key)}, repeats)
    for name, filters in LISTS.items():
        query = "".join(f"&{k}={v}" for k, v in filters.items())
        path = f"/api/v1/innovations?page_size=20{query}"
        calls = {f"{name} as {role}": (lambda p=path, key=keys[role]: get(p, key)) for role in ROLES}
        samples |= _timed(calls, repeats)
    return samples


def sql_policy_reads(read_model: ReadModel, cast: Cast, repeats: int) -> dict[str, list[float]]:
    """The same reads as `http_policy_reads`, as the query functions straight on the read model."""
    scopes: dict[str, Scope] = {role: scope(cast.viewer(role)) for role in ROLES}
    assert scopes["analyst"] is EVERYTHING

    def run(fn: Callable[[Any], Any]) -> Callable[[], Any]:
        def call() -> Any:
            with read_model.reader.connect() as conn:
                return fn(conn)

        return call

    samples = _timed({"queue": run(lambda c: queue(c, cast.evaluator_id, "pending"))}, repeats)
    for name, filters in LISTS.items():
        wanted = InnovationFilter(**filters)
        calls = {
            f"{name} as {role}": run(lambda c, f=wanted, s=scopes[role]: list_innovations(c, f, page_size=20, scope=s))
            for role in ROLES
        }
        samples |= _timed(calls, repeats)
    return samples
