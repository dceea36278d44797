"""The write path over HTTP (submissions, assignments, assessments, decisions) next to the bare Application in-process.

The mix: each command rolls 40% submission, 40% assessment, 20% gate decision (hold or resume, with If-Match), and a
submission's next command is the manager's assignment of the bench evaluator to it, since an evaluator assesses only
where assigned. So of every seven commands, two are submissions, two assignments, two assessments and one decision;
each is one request, timed on its own, and the bare Application runs the same sequence."""

from __future__ import annotations

import http.client
import json
import multiprocessing
import random
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from bench.stack import Stack
from bootstrap import open_application
from storage.config import StoreConfig
from tracker.actors import Actor

SCORES = {
    "relevance": 4,
    "effectiveness": 3,
    "transferability": 3,
    "sustainability": 3,
    "partnership": 3,
    "openness": 2,
}
MIX = (("submit", 0.4), ("assess", 0.4), ("decide", 0.2))  # each submission is followed by its assignment


@dataclass
class LoadResult:
    commands: int
    seconds: float
    latencies_ms: list[float]
    errors: int
    # Wall-clock time (time.time()) each request was scheduled to start, in the order of latencies_ms.
    scheduled_at: list[float] = field(default_factory=list)
    # Each request's X-Request-ID and the wall-clock time it was sent, in the same order (see bench.tail).
    request_ids: list[str] = field(default_factory=list)
    sent_at: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.commands / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


class Client:
    """One keep-alive connection, the mix's commands, and this client's own innovations (so If-Match never races)."""

    def __init__(self, stack: Stack, seed: int) -> None:
        parts = urlsplit(stack.base)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        self.stack = stack
        self.rng = random.Random(seed)
        self.mine: list[dict[str, Any]] = []
        # Submitted and not yet assigned: the next command assigns the first.
        self.unassigned: list[dict[str, Any]] = []
        self.seed = seed
        self.calls = 0
        # The latest call's X-Request-ID and the wall-clock time it was sent.
        self.last_call: tuple[str, float] = ("", 0.0)

    def call(
        self, method: str, path: str, key: str, body: Any, if_match: int | None = None
    ) -> tuple[int, dict[str, str], Any]:
        self.calls += 1
        self.last_call = (f"bench-{self.seed}-{self.calls}", time.time())
        headers = {
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/json",
            "X-Request-ID": self.last_call[0],
        }
        if if_match is not None:
            headers["If-Match"] = f'"{if_match}"'
        self.conn.request(method, path, body=json.dumps(body), headers=headers)
        response = self.conn.getresponse()
        payload = response.read()
        return response.status, dict(response.getheaders()), json.loads(payload or b"null")

    def command(self) -> tuple[bool, dict[str, str]]:
        if self.unassigned:
            return self.assign(self.unassigned.pop())
        roll = self.rng.random()
        active = [i for i in self.mine if i["status"] == "active"]
        if roll < 0.4 or not active:
            status, headers, body = self.call(
                "POST",
                "/api/v1/innovations",
                self.stack.provider_key,
                {"title": "Bench pilot", "summary": "Load", "themes": ["bench"]},
            )
            if status == 201:
                self.unassigned.append({"id": body["id"], "version": body["version"], "status": "active"})
            return status == 201, headers
        target = self.rng.choice(self.mine if roll >= 0.8 else active)
        path = f"/api/v1/innovations/{target['id']}"
        if roll < 0.8:
            status, headers, body = self.call(
                "POST", f"{path}/assessments", self.stack.evaluator_key, {"scores": SCORES, "rationale": "bench"}
            )
            if status == 201:
                target["version"] = body["version"]
            return status == 201, headers
        decision = "resume" if target["status"] == "on_hold" else "hold"
        status, headers, body = self.call(
            "POST",
            f"{path}/decisions",
            self.stack.manager_key,
            {"decision": decision, "rationale": "bench"},
            target["version"],
        )
        if status == 200:
            target["version"], target["status"] = body["version"], body["status"]
        return status == 200, headers

    def assign(self, target: dict[str, Any]) -> tuple[bool, dict[str, str]]:
        """The manager assigns the bench evaluator to a new submission, so that the evaluator may assess it."""
        status, headers, body = self.call(
            "POST",
            f"/api/v1/innovations/{target['id']}/assignments",
            self.stack.manager_key,
            {"evaluator_id": self.stack.evaluator_id},
        )
        if status == 201:
            target["version"] = body["version"]
            self.mine.append(target)
        return status == 201, headers


def _client_process(stack: Stack, seed: int, seconds: float, rate: float | None, results: Any, ready: Any) -> None:
    client = Client(stack, seed)
    # Every client starts its clock once all have booted: a client's own start-up (imports, about a second of CPU
    # each) is not the server's latency, and it competed with the first requests for the same two cores.
    ready.wait()
    latencies: list[float] = []
    scheduled_at: list[float] = []
    calls: list[tuple[str, float]] = []
    done = errors = 0
    start = time.perf_counter()
    wall_offset = time.time() - start
    next_at = start
    while True:
        now = time.perf_counter()
        if now - start >= seconds:
            break
        if rate:
            if now < next_at:
                time.sleep(next_at - now)
            scheduled = next_at
            next_at += 1 / rate
        else:
            scheduled = time.perf_counter()
        ok, _ = client.command()
        # Latency from the scheduled start, so a stalled server is not hidden (coordinated omission).
        latencies.append((time.perf_counter() - scheduled) * 1000)
        scheduled_at.append(scheduled + wall_offset)
        calls.append(client.last_call)
        done += ok
        errors += not ok
    results.put((done, time.perf_counter() - start, latencies, errors, scheduled_at, calls))


def http_load(stack: Stack, *, clients: int, seconds: float, total_rate: float | None = None) -> LoadResult:
    """Clients in separate processes; closed loop when total_rate is None, paced (open loop) otherwise."""
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    per_client = total_rate / clients if total_rate else None
    ready = ctx.Barrier(clients)
    procs = [
        ctx.Process(target=_client_process, args=(stack, n, seconds, per_client, results, ready))
        for n in range(clients)
    ]
    for p in procs:
        p.start()
    gathered = [results.get(timeout=seconds + 120) for _ in procs]
    for p in procs:
        p.join()
    return LoadResult(
        commands=sum(g[0] for g in gathered),
        seconds=max(g[1] for g in gathered),
        latencies_ms=[x for g in gathered for x in g[2]],
        errors=sum(g[3] for g in gathered),
        scheduled_at=[x for g in gathered for x in g[4]],
        request_ids=[request_id for g in gathered for request_id, _ in g[5]],
        sent_at=[sent for g in gathered for _, sent in g[5]],
    )


def bare_application(url: str, seconds: float, *, cipher_key: str | None = None) -> LoadResult:
    """The same mix straight on TrackerApplication in this process: the reference for the HTTP figure."""
    app = open_application(url, cipher_key=cipher_key)
    rng = random.Random(7)
    owner = app.register_organisation(
        actor=Actor("ref", "admin"), name="Reference owner", country="LT", kind="vet_provider"
    ).aggregate_id
    panel = app.register_organisation(
        actor=Actor("ref", "admin"), name="Reference panel", country="FI", kind="research"
    ).aggregate_id
    provider, evaluator = Actor("ref-provider", "provider", owner), Actor("ref-evaluator", "evaluator", panel)
    manager = Actor("ref-manager", "manager")
    mine: list[dict[str, Any]] = []
    unassigned: list[Any] = []
    latencies: list[float] = []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        active = [i for i in mine if i["status"] == "active"]
        if unassigned:
            innovation_id = unassigned.pop()
            app.assign_evaluator(
                innovation_id, actor=manager, evaluator_id=evaluator.id, evaluator_organisation_id=panel
            )
            mine.append({"id": innovation_id, "status": "active"})
        elif (roll := rng.random()) < 0.4 or not active:
            r = app.submit_innovation(
                actor=provider, title="Reference", summary="Load", themes=["bench"], organisation_id=owner
            )
            unassigned.append(r.aggregate_id)
        elif roll < 0.8:
            app.record_assessment(rng.choice(active)["id"], actor=evaluator, scores=SCORES, rationale="ref")
        else:
            target = rng.choice(mine)
            decision = "resume" if target["status"] == "on_hold" else "hold"
            target["status"] = app.decide_gate(
                target["id"], actor=manager, decision=decision, rationale="ref"
            ).aggregate.status
        latencies.append((time.perf_counter() - t0) * 1000)
    elapsed = time.perf_counter() - start
    app.close()
    return LoadResult(len(latencies), elapsed, latencies, 0)


def projection_lag(stack: Stack, seconds: float, interval: float = 0.1) -> list[float]:
    """Write-to-visible lag (ms): a submission's acknowledgement until every projection has its log position."""
    config = StoreConfig.from_url(stack.url)
    client = Client(stack, seed=999)
    lags: list[float] = []
    options = f"-csearch_path={config.schema}" if config.schema else ""
    with config.connect(autocommit=True, options=options) as conn:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            status, headers, _ = client.call(
                "POST",
                "/api/v1/innovations",
                stack.provider_key,
                {"title": "Lag probe", "summary": "x", "themes": ["probe"]},
            )
            acknowledged = time.perf_counter()
            if status != 201:
                continue
            position = int(headers["X-Event-Position"])
            while True:
                (seen,) = conn.execute("SELECT min(position) FROM rm_tracking").fetchone()  # type: ignore[misc]
                if seen >= position:
                    break
                time.sleep(0.0005)
            lags.append((time.perf_counter() - acknowledged) * 1000)
            time.sleep(interval)
    return lags


def lag_during_load(stack: Stack, *, clients: int, seconds: float, rate: float) -> tuple[LoadResult, list[float]]:
    lags: list[float] = []
    sampler = threading.Thread(target=lambda: lags.extend(projection_lag(stack, seconds - 1)))
    sampler.start()
    result = http_load(stack, clients=clients, seconds=seconds, total_rate=rate)
    sampler.join()
    return result, lags


def p(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]
