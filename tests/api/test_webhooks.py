"""Webhooks end to end: endpoints over HTTP, deliveries to a real receiving server, Standard Webhooks signatures
checked with the `standardwebhooks` package, rotation, the retry schedule under an injected clock, Retry-After, 410,
three days of failure, redelivery and replay, and the SSRF guard."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from outbox import sending
from outbox.guard import RefusedAddressError, check_url
from outbox.service import Outbox
from projections.clock import utc_now
from tests.api.conftest import Env, make_env, submit
from tests.receivers import Receiver, webhook_receiver


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = utc_now()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> None:
        self.now += by


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def hooks_env(request: pytest.FixtureRequest) -> Iterator[Env]:
    environment = make_env(
        request.getfixturevalue(f"{request.param}_url"), inline_outbox=False, webhooks_allow_private=True
    )
    yield environment
    environment.app.extensions["tracker"].close()


@pytest.fixture
def sqlite_hooks(sqlite_url: str) -> Iterator[Env]:
    """The sender's own logic (schedules, lanes, back-off) on SQLite alone; the tests that touch the stores' claims
    and derivation (hooks_env) run on both."""
    environment = make_env(sqlite_url, inline_outbox=False, webhooks_allow_private=True)
    yield environment
    environment.app.extensions["tracker"].close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as found:
        yield found


def outbox_of(env: Env) -> Outbox:
    return env.app.extensions["tracker"].outbox  # type: ignore[no-any-return]


def with_clock(env: Env, clock: Clock) -> Outbox:
    """The env's outbox, its derivation and sender on the test's clock, with no jitter."""
    outbox = outbox_of(env)
    outbox.derivation.clock = clock
    outbox.sender.clock = clock
    outbox.sender.rand = lambda: 0.5
    return outbox


def create(env: Env, url: str, types: list[str] | None = None) -> dict[str, Any]:
    answer = env.post("/api/v1/webhooks", env.keys.admin, json={"url": url, "event_types": types or ["*"]})
    assert answer.status_code == 201, answer.json
    return answer.json  # type: ignore[no-any-return]


def verified(received: Any, secret: str) -> Any:
    return Webhook(secret).verify(received.body, received.headers)


def test_a_delivery_is_signed_and_carries_the_feed_item(hooks_env: Env, receiver: Receiver) -> None:
    env = hooks_env
    hook = create(env, receiver.url, ["innovation.submitted"])
    assert hook["secret"].startswith("whsec_")
    assert "secret" not in env.get(f"/api/v1/webhooks/{hook['id']}", env.keys.admin).json
    created = submit(env)
    env.assign(created["id"], env.keys.evaluator)  # not a type the endpoint asked for
    assert outbox_of(env).run_once() == 1
    (received,) = receiver.received
    payload = verified(received, hook["secret"])
    assert payload["type"] == "innovation.submitted"
    data = payload["data"]
    assert data["aggregate_id"] == created["id"]
    assert received.headers["webhook-id"] == data["id"]
    feed = env.get("/api/v1/events", env.keys.admin, query_string={"after": data["position"] - 1, "limit": 1})
    assert feed.json["items"][0] == data
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 43).verify(received.body, received.headers)
    log = env.get(f"/api/v1/webhooks/{hook['id']}/deliveries", env.keys.admin).json["items"]
    assert [(d["position"], d["status"], len(d["attempts"])) for d in log] == [(data["position"], "succeeded", 1)]
    assert log[0]["attempts"][0]["status_code"] == 200
    assert log[0]["attempts"][0]["response"] == "ok"


def test_an_endpoint_receives_events_stored_after_it_was_made(hooks_env: Env, receiver: Receiver) -> None:
    env = hooks_env
    submit(env)
    outbox_of(env).run_once()
    create(env, receiver.url)
    assert outbox_of(env).run_once() == 0
    submit(env)
    assert outbox_of(env).run_once() == 1


def test_rotation_signs_with_both_secrets_for_a_day(sqlite_hooks: Env, receiver: Receiver) -> None:
    env = sqlite_hooks
    clock = Clock()
    outbox = with_clock(env, clock)
    hook = create(env, receiver.url)
    rotated = env.post(f"/api/v1/webhooks/{hook['id']}/rotate-secret", env.keys.admin)
    assert rotated.status_code == 200
    new = rotated.json["secret"]
    assert new != hook["secret"]
    # The rotation was stamped by the real clock: the test's clock starts after it, so that a day and a second on
    # is past the day however long the requests took.
    clock.now = utc_now()
    submit(env)
    outbox.run_once()
    during = receiver.received[-1]
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    verified(during, hook["secret"])
    verified(during, new)
    clock.advance(timedelta(hours=24, seconds=1))
    submit(env)
    outbox.run_once()
    after = receiver.received[-1]
    # A day on, only the new secret signs (the package's verify would refuse the moved clock's timestamp, so the
    # signatures are compared as it compares them).
    assert signed_by(after, new)
    assert not signed_by(after, hook["secret"])
    assert len(after.headers["webhook-signature"].split(" ")) == 1


def signed_by(received: Any, secret: str) -> bool:
    """Whether one of the delivery's signatures is `secret`'s over its id, timestamp and body."""
    at = datetime.fromtimestamp(int(received.headers["webhook-timestamp"]), UTC)
    expected = Webhook(secret).sign(received.headers["webhook-id"], at, received.body)
    return expected in received.headers["webhook-signature"].split(" ")


def attempts_of(env: Env, hook_id: str) -> list[dict[str, Any]]:
    return env.get(f"/api/v1/webhooks/{hook_id}/deliveries", env.keys.admin).json["items"]  # type: ignore[no-any-return]


def test_the_retry_schedule_under_an_injected_clock(sqlite_hooks: Env, receiver: Receiver) -> None:
    env = sqlite_hooks
    clock = Clock()
    outbox = with_clock(env, clock)
    hook = create(env, receiver.url, ["innovation.submitted"])
    receiver.default = (500, {}, 0.0)
    submit(env)
    outbox.run_once()
    waits = []
    for expected in sending.SCHEDULE[1:]:
        (delivery,) = attempts_of(env, hook["id"])
        due = datetime.fromisoformat(delivery["next_attempt_at"]).replace(tzinfo=None)
        waits.append(due - clock.now)
        # Nothing goes before it is due: the endpoint backs off as a whole.
        clock.now = due - timedelta(seconds=1)
        assert outbox.run_once() == 0
        clock.now = due
        assert outbox.run_once() == 1
        assert expected == waits[-1]  # no jitter with rand() = 0.5
    (delivery,) = attempts_of(env, hook["id"])
    assert delivery["status"] == "failed"
    assert len(delivery["attempts"]) == len(sending.SCHEDULE)
    assert {a["status_code"] for a in delivery["attempts"]} == {500}
    assert len(set(receiver.ids())) == 1  # every attempt carried the same webhook-id
    assert sum(waits, timedelta()) > timedelta(days=3)


def test_jitter_spreads_the_waits() -> None:
    assert sending.delay_after(2, lambda: 0.0) == timedelta(minutes=4)
    assert sending.delay_after(2, lambda: 1.0) == timedelta(minutes=6)
    assert sending.delay_after(len(sending.SCHEDULE), lambda: 0.5) is None


def test_retry_after_is_honoured(sqlite_hooks: Env, receiver: Receiver) -> None:
    env = sqlite_hooks
    clock = Clock()
    outbox = with_clock(env, clock)
    hook = create(env, receiver.url, ["innovation.submitted"])
    receiver.answers = [(503, {"Retry-After": "120"}, 0.0), (429, {"Retry-After": "3600"}, 0.0)]
    submit(env)
    outbox.run_once()
    (delivery,) = attempts_of(env, hook["id"])
    # 120 s, not the schedule's 5 s.
    assert datetime.fromisoformat(delivery["next_attempt_at"]).replace(tzinfo=None) == clock.now + timedelta(
        seconds=120
    )
    clock.advance(timedelta(seconds=119))
    assert outbox.run_once() == 0
    clock.advance(timedelta(seconds=1))
    assert outbox.run_once() == 1
    (delivery,) = attempts_of(env, hook["id"])
    assert datetime.fromisoformat(delivery["next_attempt_at"]).replace(tzinfo=None) == clock.now + timedelta(hours=1)
    clock.advance(timedelta(hours=1))
    assert outbox.run_once() == 1
    assert attempts_of(env, hook["id"])[0]["status"] == "succeeded"
    assert sending.retry_after("Wed, 21 Oct 2015 07:28:00 GMT", datetime(2015, 10, 21, 7, 27)) == timedelta(minutes=1)
    assert sending.retry_after("soon", utc_now()) is None


def test_a_410_disables_the_endpoint_and_tells_the_admins(hooks_env: Env, receiver: Receiver) -> None:
    env = hooks_env
    services = env.app.extensions["tracker"]
    admin = services.people.create(actor_id="admin", name="Ada", email="ada@example.org", role="admin")
    hook = create(env, receiver.url, ["innovation.submitted"])
    receiver.default = (410, {}, 0.0)
    submit(env)
    submit(env)
    outbox = outbox_of(env)
    outbox.sender.per_endpoint = 1
    outbox.run_once()
    endpoint = env.get(f"/api/v1/webhooks/{hook['id']}", env.keys.admin).json
    assert endpoint["active"] is False
    assert "410" in endpoint["disabled_reason"]
    assert len(receiver.received) == 1  # the second delivery waits for the endpoint to be turned back on
    emails = env.get("/api/v1/outbox/emails", env.keys.admin, query_string={"status": "pending"}).json
    assert emails["smtp_configured"] is False
    told = [e for e in emails["items"] if e["kind"] == "endpoint_disabled"]
    assert {e["person_id"] for e in told} == {str(admin.id)}
    receiver.default = (200, {}, 0.0)
    again = env.patch(f"/api/v1/webhooks/{hook['id']}", env.keys.admin, json={"active": True})
    assert again.json["active"] is True
    assert again.json["disabled_at"] is None
    outbox.run_once()
    assert len(receiver.received) == 2


@pytest.mark.parametrize("jitter", [0.0, 0.5, 1.0])
def test_three_days_of_failure_disable_the_endpoint(sqlite_hooks: Env, receiver: Receiver, jitter: float) -> None:
    """However the jitter falls (the shortest schedule ends before three days have passed), an endpoint whose every
    attempt failed is disabled by the end of its delivery's schedule, and the admins are told once."""
    env = sqlite_hooks
    services = env.app.extensions["tracker"]
    services.people.create(actor_id="admin", name="Ada", email="ada@example.org", role="admin")
    clock = Clock()
    outbox = with_clock(env, clock)
    outbox.sender.rand = lambda: jitter
    hook = create(env, receiver.url, ["innovation.submitted"])
    receiver.default = (502, {}, 0.0)
    submit(env)
    started = clock.now
    outbox.run_once()
    while env.get(f"/api/v1/webhooks/{hook['id']}", env.keys.admin).json["active"]:
        (delivery,) = attempts_of(env, hook["id"])
        assert delivery["status"] == "pending"
        clock.now = datetime.fromisoformat(delivery["next_attempt_at"]).replace(tzinfo=None)
        assert outbox.run_once() == 1
    assert clock.now - started >= timedelta(days=2, hours=12)
    assert clock.now - started < timedelta(days=3, hours=24)
    endpoint = env.get(f"/api/v1/webhooks/{hook['id']}", env.keys.admin).json
    assert "three days" in endpoint["disabled_reason"]
    kinds = [e["kind"] for e in env.get("/api/v1/outbox/emails", env.keys.admin).json["items"]]
    assert kinds.count("endpoint_disabled") == 1


def test_redelivery_and_replay_send_again_with_the_same_webhook_id(hooks_env: Env, receiver: Receiver) -> None:
    env = hooks_env
    outbox = outbox_of(env)
    first = submit(env)
    hook = create(env, receiver.url, ["innovation.submitted", "innovation.evaluator_assigned"])
    second = submit(env)
    env.assign(second["id"], env.keys.evaluator)
    outbox.run_once()
    assert len(receiver.received) == 2
    (delivery, _assigned) = attempts_of(env, hook["id"])
    again = env.post(f"/api/v1/webhooks/{hook['id']}/deliveries/{delivery['delivery_id']}/redeliver", env.keys.admin)
    assert again.status_code == 202
    outbox.run_once()
    assert receiver.ids()[-1] == delivery["event_id"]
    assert receiver.ids().count(delivery["event_id"]) == 2
    bodies = [r.json["data"] for r in receiver.received if r.headers["webhook-id"] == delivery["event_id"]]
    assert bodies[0] == bodies[1]
    # Replay from before the endpoint existed: the first innovation's submission too, once each.
    before = (
        int(
            env.get("/api/v1/events", env.keys.admin, query_string={"types": "innovation.submitted"}).json["items"][-2][
                "position"
            ]
        )
        - 1
    )
    replayed = env.post(f"/api/v1/webhooks/{hook['id']}/replay", env.keys.admin, json={"after": before})
    assert replayed.status_code == 202
    assert replayed.json == {"queued": 3}
    outbox.run_once()
    last = receiver.received[-3:]
    assert sorted(r.json["data"]["aggregate_id"] for r in last if r.json["type"] == "innovation.submitted") == sorted(
        [first["id"], second["id"]]
    )
    assert set(receiver.ids()[:2]) <= set(receiver.ids()[-3:])
    missing = env.post(f"/api/v1/webhooks/{hook['id']}/deliveries/999999/redeliver", env.keys.admin)
    assert missing.status_code == 404


def test_a_slow_receiver_does_not_hold_up_the_others(sqlite_hooks: Env) -> None:
    env = sqlite_hooks
    outbox = outbox_of(env)
    with webhook_receiver() as slow, webhook_receiver() as fast:
        slow.default = (200, {}, 3.0)
        create(env, slow.url, ["innovation.submitted"])
        create(env, fast.url, ["innovation.submitted"])
        for _ in range(6):
            env.world.submit(title="Many at once")
        outbox.derivation.catch_up()
        started = time.monotonic()
        outbox.sender.dispatch()
        while len(fast.received) < 6:
            outbox.sender.dispatch()
            time.sleep(0.01)
            assert time.monotonic() - started < 2.5, "the fast receiver waited for the slow one"
        # The slow one has at most its share in flight.
        assert len(slow.received) == 0
        slow.default = (200, {}, 0.0)  # the rest of its lane goes quickly, so the test's end waits for one at most


@pytest.mark.parametrize(
    "url",
    [
        "http://example.org/hook",
        "https://127.0.0.1/hook",
        "https://10.0.0.1/hook",
        "https://[::1]/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://localhost/hook",
        "https://192.168.1.20/hook",
        "https://[::ffff:10.0.0.1]/hook",
        "https://[2002:7f00:1::]/hook",
        "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook",
        "ftp://example.org/hook",
        "https://user:pass@example.org/hook",
        "https://[fec0::1]/hook",
        # Not sendable: every delivery would fail where the request is written.
        "https://example.org/a b",
        "https://example.org/ä",
        "https://example.org/hook?name=Žemaitė",
    ],
)
def test_the_ssrf_guard_refuses(url: str) -> None:
    with pytest.raises(RefusedAddressError):
        check_url(url, allow_private=False, resolver=lambda host, port: _resolve(host))


def test_the_guard_refuses_a_name_resolving_to_a_private_address() -> None:
    with pytest.raises(RefusedAddressError, match="not public"):
        check_url(
            "https://hooks.example.org/x", allow_private=False, resolver=lambda h, p: ["93.184.215.14", "10.1.2.3"]
        )
    check_url("https://hooks.example.org/x", allow_private=False, resolver=lambda h, p: ["93.184.215.14"])
    # localhost, resolved by this machine's own resolver
    with pytest.raises(RefusedAddressError, match="not public"):
        check_url("https://localhost:8443/x", allow_private=False)


def test_the_api_refuses_private_endpoints_unless_allowed(env: Env) -> None:
    for url in ("http://example.org/hook", "https://127.0.0.1/hook", "https://169.254.169.254/"):
        refused = env.post("/api/v1/webhooks", env.keys.admin, json={"url": url, "event_types": ["*"]})
        assert refused.status_code == 422, url
    unknown = env.post(
        "/api/v1/webhooks", env.keys.admin, json={"url": "https://example.org/h", "event_types": ["innovation.x"]}
    )
    assert unknown.status_code == 422
    # Brackets that hold no IPv6 address: a 422 naming the URL, on creation and on a change alike.
    for url in ("https://[::1/h", "https://[zz]/h", "https://[]/h"):
        answer = env.post("/api/v1/webhooks", env.keys.admin, json={"url": url, "event_types": ["*"]})
        assert (answer.status_code, list(answer.json["errors"])) == (422, ["url"]), url


def test_a_replay_cursor_must_be_a_whole_number_and_a_delivery_id_within_range(
    sqlite_hooks: Env, receiver: Receiver
) -> None:
    env = sqlite_hooks
    hook = create(env, receiver.url)["id"]
    for after in (1e-300, 150.7, "3", True):
        answer = env.post(f"/api/v1/webhooks/{hook}/replay", env.keys.admin, json={"after": after})
        assert (answer.status_code, list(answer.json["errors"])) == (422, ["after"]), after
    assert env.post(f"/api/v1/webhooks/{hook}/replay", env.keys.admin, json={"after": 0}).status_code == 202
    changed = env.patch(f"/api/v1/webhooks/{hook}", env.keys.admin, json={"url": "https://[zz]/h"})
    assert (changed.status_code, list(changed.json["errors"])) == (422, ["url"])
    huge = env.post(f"/api/v1/webhooks/{hook}/deliveries/{'9' * 26}/redeliver", env.keys.admin)
    assert huge.status_code == 404
    assert huge.content_type == "application/problem+json"


def test_the_guard_checks_the_address_at_each_delivery(sqlite_hooks: Env, receiver: Receiver) -> None:
    """An endpoint accepted while its name resolved to a public address is not reached once the name points inward
    (DNS rebinding): each delivery resolves again and checks what it would connect to."""
    env = sqlite_hooks
    outbox = outbox_of(env)
    outbox.endpoints.allow_private = False
    outbox.endpoints.resolver = lambda host, port: ["93.184.215.14"]
    endpoint, _secret = outbox.endpoints.create(
        url="https://hooks.example.org/x", event_types=["innovation.submitted"], description=None, actor_id="admin"
    )
    outbox.sender.allow_private = False
    outbox.sender.resolver = lambda host, port: ["127.0.0.1"]
    submit(env)
    outbox.run_once()
    assert receiver.received == []
    (delivery,) = attempts_of(env, str(endpoint.id))
    assert "not public" in delivery["attempts"][0]["error"]
    assert delivery["status"] == "pending"


def _resolve(host: str) -> list[str]:
    import ipaddress

    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        return ["127.0.0.1"] if host == "localhost" else ["93.184.215.14"]


def test_metrics_and_readiness_report_the_outbox(hooks_env: Env, receiver: Receiver) -> None:
    env = hooks_env
    create(env, receiver.url, ["innovation.submitted"])
    submit(env)
    outbox_of(env).derivation.catch_up()
    text = env.get("/metrics").get_data(as_text=True)
    assert 'tracker_webhook_deliveries{status="pending"} 1' in text
    assert "tracker_outbox_lag_events 0" in text
    ready = env.get("/readyz").json
    assert ready["outbox"]["pending_deliveries"] == 1
    assert ready["outbox"]["oldest_undelivered_seconds"] >= 0
    submit(env)
    assert env.get("/readyz").json["outbox"]["lag"] == 1
    outbox_of(env).run_once()
    text = env.get("/metrics").get_data(as_text=True)
    assert 'tracker_webhook_deliveries{status="succeeded"} 2' in text
    assert "tracker_outbox_oldest_undelivered_seconds 0" in text


def test_a_410_from_several_lanes_tells_the_admins_once(sqlite_hooks: Env, receiver: Receiver) -> None:
    env = sqlite_hooks
    services = env.app.extensions["tracker"]
    services.people.create(actor_id="admin", name="Ada", email="ada@example.org", role="admin")
    create(env, receiver.url, ["innovation.submitted"])
    receiver.default = (410, {}, 0.2)
    outbox = outbox_of(env)
    outbox.sender.lane_size = 1
    for _ in range(4):
        submit(env)
    outbox.run_once()
    assert len(receiver.received) >= 2  # lanes in flight together
    told = [
        e for e in env.get("/api/v1/outbox/emails", env.keys.admin).json["items"] if e["kind"] == "endpoint_disabled"
    ]
    assert len(told) == 1


def test_what_an_endpoint_stops_taking_is_still_sent_and_what_comes_while_it_is_off_waits(
    sqlite_hooks: Env, receiver: Receiver
) -> None:
    env = sqlite_hooks
    outbox = outbox_of(env)
    hook = create(env, receiver.url)
    created = submit(env)
    outbox.derivation.catch_up()
    narrowed = env.patch(
        f"/api/v1/webhooks/{hook['id']}", env.keys.admin, json={"event_types": ["innovation.advanced"]}
    )
    assert narrowed.status_code == 200
    outbox.run_once()
    assert [r.json["data"]["aggregate_id"] for r in receiver.received] == [created["id"]]
    assert env.get(f"/api/v1/webhooks/{hook['id']}", env.keys.admin).json["failing_since"] is None
    env.patch(f"/api/v1/webhooks/{hook['id']}", env.keys.admin, json={"event_types": ["*"], "active": False})
    while_off = submit(env)
    outbox.run_once()
    assert len(receiver.received) == 1
    env.patch(f"/api/v1/webhooks/{hook['id']}", env.keys.admin, json={"active": True})
    outbox.run_once()
    assert receiver.received[-1].json["data"]["aggregate_id"] == while_off["id"]


def test_a_lane_stops_before_its_claim_lapses_so_nothing_is_sent_twice(
    sqlite_hooks: Env, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = sqlite_hooks
    outbox = outbox_of(env)
    # Eight answers of 0.6 s take longer than the 4.5 s lease, so a lane that sent them all would still be sending
    # when its claim lapsed. A lane starts no delivery once less than its longest attempt (two timeouts, 2.4 s) and
    # the record's margin (1 s here) is left of it, that is after 1.1 s: its last answer and the record of what it
    # sent then have about 3 s before the claim lapses, a margin no busy machine uses up.
    monkeypatch.setattr(sending, "RECORD_MARGIN", 1.0)
    outbox.sender.timeout = 1.2
    outbox.sender.lease = timedelta(seconds=4.5)
    create(env, receiver.url, ["innovation.submitted"])
    receiver.default = (200, {}, 0.6)
    for _ in range(8):
        submit(env)
    outbox.derivation.catch_up()
    deadline = time.monotonic() + 30
    while len(set(receiver.ids())) < 8 and time.monotonic() < deadline:
        outbox.sender.dispatch()
        time.sleep(0.05)
    while not outbox.sender.idle():
        time.sleep(0.05)
    assert len(set(receiver.ids())) == 8
    assert len(receiver.ids()) == 8, "a delivery was sent again while its first sending was still in its lane"


@pytest.mark.parametrize("stop", ["turned off", "deleted"])
def test_a_lane_sending_to_an_endpoint_turned_off_or_deleted_sends_no_more(
    sqlite_hooks: Env, receiver: Receiver, monkeypatch: pytest.MonkeyPatch, stop: str
) -> None:
    env = sqlite_hooks
    outbox = outbox_of(env)
    monkeypatch.setattr(sending, "STILL_ON_EVERY", 0.1)
    outbox.sender.per_endpoint = 1
    hook = create(env, receiver.url, ["innovation.submitted"])
    receiver.default = (200, {}, 0.3)
    for _ in range(10):
        submit(env)
    outbox.derivation.catch_up()
    outbox.sender.dispatch()
    deadline = time.monotonic() + 10
    while not receiver.received:
        assert time.monotonic() < deadline, "nothing was sent"
        time.sleep(0.02)
    path = f"/api/v1/webhooks/{hook['id']}"
    if stop == "deleted":
        assert env.delete(path, env.keys.admin).status_code == 204
    else:
        assert env.patch(path, env.keys.admin, json={"active": False}).status_code == 200
    wait_until_idle(outbox)
    # The one being sent, and at most one more started before the lane looked again; not the other eight.
    assert len(receiver.received) <= 3, len(receiver.received)


def test_fresh_deliveries_are_claimed_as_they_are_derived_and_the_rest_wait_their_turn(
    hooks_env: Env, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = hooks_env
    outbox = outbox_of(env)
    outbox.sender.per_endpoint = 1
    outbox.sender.lane_size = 2
    hook = create(env, receiver.url, ["innovation.submitted"])
    created = [submit(env)["id"] for _ in range(5)]
    claims = outbox.sender._claim_deliveries
    # The derivation's own transaction claims the two its one lane holds; no claim of the sender's takes part.
    monkeypatch.setattr(outbox.sender, "_claim_deliveries", lambda now: pytest.fail("claimed apart from deriving"))
    outbox.derivation.catch_up(outbox.sender)
    wait_until_idle(outbox)
    assert [r.json["data"]["aggregate_id"] for r in receiver.received] == created[:2]
    monkeypatch.setattr(outbox.sender, "_claim_deliveries", claims)
    outbox.sender.dispatch(wait=True)
    outbox.sender.dispatch(wait=True)
    assert [r.json["data"]["aggregate_id"] for r in receiver.received] == created
    log = env.get(f"/api/v1/webhooks/{hook['id']}/deliveries", env.keys.admin).json["items"]
    assert {(d["status"], len(d["attempts"])) for d in log} == {("succeeded", 1)}


def test_a_failing_endpoint_gets_no_fresh_claims(sqlite_hooks: Env, receiver: Receiver) -> None:
    env = sqlite_hooks
    outbox = outbox_of(env)
    create(env, receiver.url, ["innovation.submitted"])
    receiver.default = (503, {}, 0.0)
    submit(env)
    outbox.run_once()
    receiver.default = (200, {}, 0.0)
    submit(env)
    outbox.derivation.catch_up(outbox.sender)
    wait_until_idle(outbox)
    assert len(receiver.received) == 1, "a fresh delivery went ahead of the failed one's retry"


@pytest.mark.postgres
def test_the_outbox_on_postgresql_is_woken_by_a_commit_not_its_poll(postgres_url: str, receiver: Receiver) -> None:
    env = make_env(postgres_url, inline_outbox=False, webhooks_allow_private=True)
    outbox = outbox_of(env)
    try:
        create(env, receiver.url, ["innovation.submitted"])
        outbox.poll = 60
        outbox.start()
        time.sleep(0.5)
        created = submit(env)
        deadline = time.monotonic() + 20
        while not receiver.received and time.monotonic() < deadline:
            time.sleep(0.02)
        # Liveness, not speed: it arrives long before the poll of a minute would have looked.
        assert [r.json["data"]["aggregate_id"] for r in receiver.received] == [created["id"]]
    finally:
        env.app.extensions["tracker"].close()


def wait_until_idle(outbox: Outbox, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not outbox.sender.idle():
        assert time.monotonic() < deadline, "the sender is still busy"
        time.sleep(0.02)
