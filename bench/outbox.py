"""What leaves the tracker: the time from a write to its webhook's arrival under load, and the event feed's read
rate over HTTP next to reading the store directly."""

from __future__ import annotations

import http.client
import json
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from bench.receiver import Receiver
from bench.stack import Stack
from bench.write_path import LoadResult, http_load
from bootstrap import build_services, open_application
from runtime.settings import Settings
from tracker import event_types


@dataclass(frozen=True)
class Arrivals:
    load: LoadResult
    latencies_ms: list[float]  # per event, first arrival minus the event's time
    expected: int  # events stored during the load
    undelivered: int  # of those, never arrived within the wait


def add_endpoint(url: str, receiver: Receiver) -> int:
    """An endpoint for every event type at the receiver; returns the log position it starts after."""
    services = build_services(
        Settings(database_url=url, inline_projections=False, inline_outbox=False, webhooks_allow_private=True)
    )
    try:
        assert services.outbox is not None
        endpoint, _ = services.outbox.endpoints.create(
            url=receiver.url, event_types=["*"], description="bench receiver", actor_id="bench"
        )
        return endpoint.starts_after
    finally:
        services.close()


def webhook_arrivals(stack: Stack, receiver: Receiver, *, clients: int, seconds: float, rate: float) -> Arrivals:
    """The write mix paced at `rate` with an endpoint taking every event; each event's time from being stored (its
    timestamp, taken just before the commit) to its first arrival at the receiver."""
    starts_after = add_endpoint(stack.url, receiver)
    load = http_load(stack, clients=clients, seconds=seconds, total_rate=rate)
    app = open_application(stack.url, pool_size=1)
    try:
        stored = {}
        position = starts_after
        while records := app.read_log(position, 1000):
            for r in records:
                stored[str(event_types.event_id(r.aggregate_id, r.version))] = r.at.timestamp()
            position = records[-1].position
    finally:
        app.close()
    deadline = time.monotonic() + 60
    while not set(stored) <= receiver.accepted() and time.monotonic() < deadline:
        time.sleep(0.2)
    first: dict[str, float] = {}
    for received in list(receiver.received):
        first.setdefault(received.headers["webhook-id"], received.at)
    latencies = [(first[i] - at) * 1000 for i, at in stored.items() if i in first]
    return Arrivals(load, latencies, len(stored), len(set(stored) - set(first)))


def feed_rate(stack: Stack, *, limit: int = 1000) -> tuple[float, float, int]:
    """Events per second read from the start of the log to its end: over HTTP through the event feed (one
    connection, pages of `limit`), and by the application reading the store directly. Returns (HTTP, store, events)."""
    parts = urlsplit(stack.base)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    headers = {"Authorization": f"Bearer {stack.analyst_key}"}
    after = events = 0
    started = time.perf_counter()
    while True:
        conn.request("GET", f"/api/v1/events?after={after}&limit={limit}", headers=headers)
        answer = conn.getresponse()
        page = json.loads(answer.read())
        if answer.status != 200:
            raise RuntimeError(f"the feed answered {answer.status}: {page}")
        events += len(page["items"])
        after = page["next_after"]
        if len(page["items"]) < limit:
            break
    over_http = events / (time.perf_counter() - started)
    conn.close()
    app = open_application(stack.url, pool_size=1)
    try:
        after = read = 0
        started = time.perf_counter()
        while records := app.read_log(after, limit):
            read += len(records)
            after = records[-1].position
        direct = read / (time.perf_counter() - started)
    finally:
        app.close()
    return over_http, direct, events


def feed_wait_latency(stack: Stack, *, samples: int = 20) -> list[float]:
    """Milliseconds from a write's answer to the answer of a feed read that was waiting (`wait=10`) for it."""
    parts = urlsplit(stack.base)
    headers = {"Authorization": f"Bearer {stack.analyst_key}"}
    writer = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    found: list[float] = []
    for n in range(samples):
        head = _head(stack, headers)
        answered: list[float] = []

        def wait(after: int, answered: list[float]) -> None:
            reader = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
            reader.request("GET", f"/api/v1/events?after={after}&wait=10", headers=headers)
            reader.getresponse().read()
            answered.append(time.perf_counter())
            reader.close()

        waiting = threading.Thread(target=wait, args=(head, answered))
        waiting.start()
        time.sleep(0.2)  # the read is waiting before the write
        body = json.dumps({"title": f"Feed wait {n}", "summary": "Timed", "themes": ["bench"]})
        writer.request(
            "POST",
            "/api/v1/innovations",
            body=body,
            headers={"Authorization": f"Bearer {stack.provider_key}", "Content-Type": "application/json"},
        )
        writer.getresponse().read()
        written = time.perf_counter()
        waiting.join(timeout=15)
        if answered:
            found.append((answered[0] - written) * 1000)
    writer.close()
    return found


def _head(stack: Stack, headers: dict[str, str]) -> int:
    """The log's head as the feed reports it (the last page's next_after)."""
    parts = urlsplit(stack.base)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    after = 0
    while True:
        conn.request("GET", f"/api/v1/events?after={after}&limit=1000", headers=headers)
        page = json.loads(conn.getresponse().read())
        after = page["next_after"]
        if len(page["items"]) < 1000:
            conn.close()
            return int(after)
