"""Group commit over HTTP: requests whose events share one transaction each get their own answer, ETag and
X-Event-Position; a stale If-Match inside the shared transaction is answered 412 alone, and a refused request
stores nothing and holds up nobody."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest

from tests.api.conftest import Env, make_env, submit
from tests.test_group_commit import Gate, together


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def grouped_env(request: pytest.FixtureRequest) -> Iterator[Env]:
    environment = make_env(request.getfixturevalue(f"{request.param}_url"), group_commit=True)
    yield environment
    environment.app.extensions["tracker"].close()


def note(env: Env, innovation_id: str, body: str, key: str | None = None, **headers: str) -> Any:
    client = env.app.test_client()  # one client per thread
    return client.post(
        f"/api/v1/innovations/{innovation_id}/notes",
        json={"body": body},
        headers={"Authorization": f"Bearer {key or env.keys.manager}", **headers},
    )


def test_requests_sharing_a_transaction_each_get_their_own_position_and_only_the_conflict_412(
    grouped_env: Env,
) -> None:
    env = grouped_env
    app = env.app.extensions["tracker"].app
    a, b, c = (submit(env, title=f"Shared {n}")["id"] for n in range(3))
    current = env.get(f"/api/v1/innovations/{c}", env.keys.manager).headers["ETag"]
    gate = Gate(app.group_commit, queued=3)
    answers = together(
        lambda: note(env, a, "holds the gate"),
        # Both pass the If-Match check against the version they read, and meet in the shared transaction.
        lambda: note(env, c, "pinned 1", **{"If-Match": current}),
        lambda: note(env, c, "pinned 2", **{"If-Match": current}),
        lambda: note(env, b, "queued b"),
        lambda: note(env, b, "refused", key=env.keys.provider),
    )
    assert gate.sizes[:2] == [1, 3], gate.sizes
    codes = [r.status_code for r in answers]
    assert codes[0] == codes[3] == 201
    assert sorted(codes[1:3]) == [201, 412]
    assert codes[4] == 403
    stored = [r for r in answers if r.status_code == 201]
    for answer in stored:
        position = int(answer.headers["X-Event-Position"])
        (record,) = app.read_log(position - 1, 1)
        assert str(record.data["note_id"]) == answer.json["note_id"]
        assert answer.headers["ETag"] == f'"{record.version}"'
    assert len({r.headers["X-Event-Position"] for r in stored}) == 3
    bodies = {n["body"] for n in app.get_innovation(UUID(c)).notes}
    assert len(bodies & {"pinned 1", "pinned 2"}) == 1
