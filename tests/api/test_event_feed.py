"""The event feed (GET /api/v1/events): every event once, in order, across pages and while writes go on; caching
headers; 304 on the last page; the long poll; who may read it; and the event types it publishes."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.utils import get_topic

from api.schemas.feed import data_schema_name
from tests.api.conftest import Env, make_env, submit
from tracker import event_types
from tracker.base import TrackerAggregate
from tracker.ecosystem import Ecosystem
from tracker.innovation import Innovation
from tracker.organisation import Organisation

FEED = "/api/v1/events"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_env(request: pytest.FixtureRequest) -> Iterator[Env]:
    environment = make_env(request.getfixturevalue(f"{request.param}_url"))
    yield environment
    environment.app.extensions["tracker"].close()


def read_all(env: Env, limit: int, **query: Any) -> list[dict[str, Any]]:
    """Follow the feed from the start to its last page."""
    items: list[dict[str, Any]] = []
    after = 0
    while True:
        page = env.get(FEED, env.keys.analyst, query_string={"after": after, "limit": limit, **query})
        assert page.status_code == 200, page.json
        items += page.json["items"]
        after = page.json["next_after"]
        if len(page.json["items"]) < limit:
            return items


def test_every_event_class_of_the_domain_has_one_published_name() -> None:
    declared = {
        cls
        for aggregate in (Organisation, Ecosystem, Innovation)
        for name, cls in vars(aggregate).items()
        if isinstance(cls, type) and issubclass(cls, TrackerAggregate.Event) and name not in ("Event", "Created")
    }
    assert declared == set(event_types.EVENT_TYPES)
    assert len(event_types.NAMES) == len(event_types.EVENT_TYPES)
    for cls, name in event_types.EVENT_TYPES.items():
        assert event_types.name_of_topic(get_topic(cls)) == name


def test_the_feed_is_the_log_in_order_with_payloads_and_ids_only(store_env: Env) -> None:
    env = store_env
    created = submit(env)
    env.assign(created["id"], env.keys.evaluator)
    app = env.app.extensions["tracker"].app
    everything = read_all(env, 7)
    assert [i["position"] for i in everything] == list(range(1, app.current_position() + 1))
    assert len({i["id"] for i in everything}) == len(everything)
    submitted = next(i for i in everything if i["aggregate_id"] == created["id"] and i["version"] == 1)
    assert submitted["type"] == "innovation.submitted"
    assert submitted["aggregate_type"] == "innovation"
    assert submitted["data"]["title"] == "Open badges"
    assert submitted["data"]["themes"] == ["badges"]
    assert submitted["actor"] == {"id": env.person_id(env.keys.provider), "role": "provider"}
    assigned = everything[-1]
    assert assigned["type"] == "innovation.evaluator_assigned"
    assert assigned["data"]["evaluator_id"] == env.person_id(env.keys.evaluator)
    # The same event read again has the same id.
    again = env.get(FEED, env.keys.analyst, query_string={"after": assigned["position"] - 1, "limit": 1})
    assert again.json["items"][0]["id"] == assigned["id"]
    assert UUID(assigned["id"]) == event_types.event_id(UUID(assigned["aggregate_id"]), assigned["version"])
    # Ids only: a person named in an event appears by id, never by name or address.
    services = env.app.extensions["tracker"]
    ona = services.people.create(
        actor_id="admin",
        name="Ona Vertintoja",
        email="ona@example.org",
        role="evaluator",
        organisation_id=env.world.eval_org_b,
    )
    assigned_ona = env.post(
        f"/api/v1/innovations/{created['id']}/assignments", env.keys.manager, json={"evaluator_id": str(ona.id)}
    )
    assert assigned_ona.status_code == 201, assigned_ona.json
    text = str(read_all(env, 1000))
    assert str(ona.id) in text
    assert "Ona Vertintoja" not in text
    assert "ona@example.org" not in text


def test_types_filter_and_unknown_types(store_env: Env) -> None:
    env = store_env
    created = submit(env)
    env.assign(created["id"], env.keys.evaluator)
    only = read_all(env, 100, types="innovation.evaluator_assigned,innovation.submitted")
    assert {i["type"] for i in only} == {"innovation.evaluator_assigned", "innovation.submitted"}
    page = env.get(FEED, env.keys.analyst, query_string={"types": "innovation.advanced"})
    # Nothing matched, and the next read starts past what was looked at.
    assert page.json == {"items": [], "next_after": env.app.extensions["tracker"].app.current_position()}
    refused = env.get(FEED, env.keys.analyst, query_string={"types": "innovation.submited"})
    assert refused.status_code == 422
    assert "innovation.submited" in str(refused.json)


def test_full_pages_are_immutable_and_the_last_page_answers_304(store_env: Env) -> None:
    env = store_env
    head = env.app.extensions["tracker"].app.current_position()
    full = env.get(FEED, env.keys.analyst, query_string={"after": 0, "limit": head})
    assert full.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "ETag" not in full.headers
    last = env.get(FEED, env.keys.analyst, query_string={"after": head - 2, "limit": 5})
    assert len(last.json["items"]) == 2
    assert last.headers["Cache-Control"] == "no-cache"
    etag = last.headers["ETag"]
    same = env.get(
        FEED, env.keys.analyst, query_string={"after": head - 2, "limit": 5}, headers={"If-None-Match": etag}
    )
    assert same.status_code == 304
    assert same.headers["ETag"] == etag
    submit(env)
    changed = env.get(
        FEED, env.keys.analyst, query_string={"after": head - 2, "limit": 5}, headers={"If-None-Match": etag}
    )
    assert changed.status_code == 200
    assert len(changed.json["items"]) == 3
    assert changed.headers["ETag"] != etag


def test_every_event_once_in_order_while_writes_go_on(store_env: Env) -> None:
    env = store_env
    app = env.app.extensions["tracker"].app
    world = env.world
    stop = threading.Event()

    def write() -> None:
        while not stop.is_set():
            world.submit(title="Written while the feed is read")

    writer = threading.Thread(target=write)
    writer.start()
    seen: list[int] = []
    after = 0
    try:
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            page = env.get(FEED, env.keys.manager, query_string={"after": after, "limit": 3})
            assert page.status_code == 200
            seen += [i["position"] for i in page.json["items"]]
            after = page.json["next_after"]
    finally:
        stop.set()
        writer.join()
    while True:
        page = env.get(FEED, env.keys.manager, query_string={"after": after, "limit": 50})
        seen += [i["position"] for i in page.json["items"]]
        after = page.json["next_after"]
        if not page.json["items"]:
            break
    assert seen == list(range(1, app.current_position() + 1))


def test_wait_answers_soon_after_a_new_event(store_env: Env) -> None:
    env = store_env
    head = env.app.extensions["tracker"].app.current_position()
    answers: list[tuple[float, Any]] = []

    def poll() -> None:
        page = env.get(FEED, env.keys.analyst, query_string={"after": head, "wait": 10})
        answers.append((time.monotonic(), page))

    waiting = threading.Thread(target=poll)
    waiting.start()
    time.sleep(0.5)
    assert not answers, "the long poll answered before any event arrived"
    # Written through the application, as another process would, so only the watcher's look at the log sees it.
    env.world.submit(title="Arrives while a reader waits")
    written = time.monotonic()
    waiting.join(timeout=15)
    ((arrived, page),) = answers
    assert page.status_code == 200
    assert [i["type"] for i in page.json["items"]] == ["innovation.submitted"]
    # A liveness check: the waiter answers within a fraction of a second, not at the end of its 10 s wait.
    assert arrived - written < 2.0


def test_wait_without_events_answers_empty_at_its_end(env: Env) -> None:
    head = env.app.extensions["tracker"].app.current_position()
    started = time.monotonic()
    beyond = env.get(FEED, env.keys.analyst, query_string={"after": head + 1000, "wait": 0.3})
    assert (beyond.status_code, list(beyond.json["errors"])) == (422, ["after"])
    page = env.get(FEED, env.keys.analyst, query_string={"after": head, "wait": 0.3})
    assert page.status_code == 200
    assert page.json == {"items": [], "next_after": head}
    assert time.monotonic() - started >= 0.3


@pytest.mark.parametrize("who", ["provider", "evaluator"])
def test_providers_and_evaluators_may_not_read_the_feed(env: Env, who: str) -> None:
    assert env.get(FEED, getattr(env.keys, who)).status_code == 403
    assert env.get(FEED).status_code == 401


def test_each_type_payload_is_in_the_openapi_document(env: Env) -> None:
    spec = env.get("/api/v1/openapi.json").json
    schemas = spec["components"]["schemas"]
    for cls, name in event_types.EVENT_TYPES.items():
        described = schemas[data_schema_name(name)]
        assert set(described["properties"]) == {f.name for f in event_types.payload_fields(cls)}
    assert set(spec["components"]["schemas"]["FeedItem"]["properties"]["type"]["enum"]) == event_types.NAMES
