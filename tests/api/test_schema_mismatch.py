"""A web process whose code is for another schema revision than the store's: writes are stored and answered, the
read model is left alone, and readiness says why (projections.migrate.check_schema)."""

from __future__ import annotations

import pytest

from projections.migrate import SchemaMismatch, code_revision
from tests.api.conftest import Env, make_env, submit
from tests.readmodel import earlier_revision, stamp

EARLIER = earlier_revision()


def test_a_write_is_stored_and_answered_while_readiness_says_why_nothing_is_projected(env: Env) -> None:
    services = env.app.extensions["tracker"]
    read_model = services.read_model
    assert env.get("/readyz").status_code == 200
    services.outbox.run_once()
    stamp(read_model, EARLIER)
    # With nothing new to derive, the outbox refuses before it sends anything either.
    with pytest.raises(SchemaMismatch):
        services.outbox.run_once()

    ready = env.get("/readyz")
    assert ready.status_code == 503
    assert ready.json["detail"] == (
        f"the read model's schema is at revision {EARLIER}, behind this release's {code_revision()}: "
        "run 'tracker db upgrade'"
    )
    before = read_model.position()
    created = submit(env)  # stored in the event log, which no migration changes
    assert services.app.current_position() > before
    with pytest.raises(SchemaMismatch):
        read_model.catch_up()
    with pytest.raises(SchemaMismatch):
        services.outbox.derivation.catch_up()
    assert read_model.position() == before
    # Reads answer from the read model as it is.
    listed = env.get("/api/v1/innovations", env.keys.provider)
    assert listed.status_code == 200
    assert created["id"] not in {item["id"] for item in listed.json["items"]}

    stamp(read_model, code_revision())
    # Readiness reads the revision afresh, and the next batch tries at once (else within SCHEMA_RECHECK_SECONDS).
    assert env.get("/readyz").status_code == 200
    assert env.get(f"/api/v1/innovations/{created['id']}", env.keys.provider).status_code == 200


def test_a_read_that_waits_for_a_position_answers_without_projecting(env: Env) -> None:
    read_model = env.app.extensions["tracker"].read_model
    reached = read_model.position()
    stamp(read_model, EARLIER)
    submit(env)
    ready = env.get("/api/v1/innovations", env.keys.provider, headers={"X-Min-Position": str(reached)})
    assert ready.status_code == 200
    assert ready.headers["X-Projection-Position"] == str(reached)
    waiting = env.get("/api/v1/innovations", env.keys.provider, headers={"X-Min-Position": str(reached + 1)})
    assert waiting.status_code == 503
    assert waiting.headers["Retry-After"] == "1"


def test_a_process_that_does_not_project_stays_ready_and_reports_the_schema(sqlite_url: str) -> None:
    env = make_env(sqlite_url, inline_projections=False)
    try:
        stamp(env.app.extensions["tracker"].read_model, EARLIER)
        ready = env.get("/readyz")
        assert ready.status_code == 200
        assert ready.json["schema"].startswith(f"the read model's schema is at revision {EARLIER}")
    finally:
        env.app.extensions["tracker"].close()
