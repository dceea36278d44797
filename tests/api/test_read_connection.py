"""Reads share one read-model connection per request, and the projection position they report is never ahead of
what their query saw, while writes and projections run alongside."""

from __future__ import annotations

import threading
import time
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import event

from access.keys import KeyStore
from projections.engine import make_engine
from tests.api.conftest import Env, submit


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_env(request: pytest.FixtureRequest) -> Env:
    return request.getfixturevalue("env" if request.param == "sqlite" else "pg_env")  # type: ignore[no-any-return]


def test_a_read_takes_one_connection_for_the_key_the_position_and_the_query_when_authenticated(any_env: Env) -> None:
    env = any_env
    innovation = submit(env)["id"]
    services = env.app.extensions["tracker"]
    services.read_your_writes()  # the write projected: the reads below find nothing to apply first
    reader = services.read_model.reader
    checkouts: list[Any] = []
    requests = threading.get_ident()

    def count(*args: Any) -> None:
        if threading.get_ident() == requests:  # not the projection thread's own look at the log
            checkouts.append(args)

    event.listen(reader, "checkout", count)
    try:
        for path in (
            f"/api/v1/innovations/{innovation}",
            "/api/v1/innovations?stage=identification&sort=-mpi",
            "/api/v1/audit?actor=provider-1&limit=100",
        ):
            checkouts.clear()
            response = env.get(path, env.keys.analyst)
            assert response.status_code == 200, response.json
            assert int(response.headers["X-Projection-Position"]) > 0
            assert len(checkouts) == 1, path
    finally:
        event.remove(reader, "checkout", count)


def test_a_key_revoked_elsewhere_fails_on_the_next_request_when_reads_share_a_connection(any_env: Env) -> None:
    env = any_env
    services = env.app.extensions["tracker"]
    token, info = services.keys.create(name="revoked-elsewhere", role="analyst")
    assert env.get("/api/v1/audit?limit=1", token).status_code == 200
    other = make_engine(services.read_model.url)  # another process's connection, as the CLI's would be
    try:
        assert KeyStore(other).revoke(info.id) == 1
    finally:
        other.dispose()
    assert env.get("/api/v1/audit?limit=1", token).status_code == 401


def test_the_projection_position_is_never_ahead_of_the_detail_read_when_writes_and_catch_ups_run_alongside(
    any_env: Env,
) -> None:
    env = any_env
    services = env.app.extensions["tracker"]
    app, read_model = services.app, services.read_model
    innovation = UUID(submit(env)["id"])
    stop = threading.Event()
    failures: list[BaseException] = []

    def write_and_project() -> None:
        try:
            n = 0
            while not stop.is_set():
                n += 1
                app.revise_innovation(innovation, {"title": f"Revision {n}"}, actor=env.world.provider)
                read_model.catch_up()
        except BaseException as error:  # reported by the main thread
            failures.append(error)

    writer = threading.Thread(target=write_and_project)
    writer.start()
    seen: list[tuple[int, int]] = []
    deadline = time.monotonic() + 10
    try:
        # At least 60 reads, and more while they have seen few versions: threads (the web process's projection
        # thread among them) share one interpreter, so how many revisions fall between two reads varies.
        while len(seen) < 60 or (len({version for _, version in seen}) <= 5 and time.monotonic() < deadline):
            response = env.get(f"/api/v1/innovations/{innovation}", env.keys.analyst)
            assert response.status_code == 200
            seen.append((int(response.headers["X-Projection-Position"]), response.json["version"]))
    finally:
        stop.set()
        writer.join()
    assert not failures, failures
    positions = [record.position for record in app.history(innovation)]
    assert len({version for _, version in seen}) > 5, "the reads never overlapped the writes"
    for position, version in seen:
        # The innovation's version counts its events; those at or before the reported position were projected.
        assert version >= sum(1 for p in positions if p <= position), (position, version)
