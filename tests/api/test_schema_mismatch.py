"""A web process whose code is for another schema revision than the store's: writes are stored and answered, the
read model is left alone, and readiness says why (projections.migrate.check_schema)."""

from __future__ import annotations

import pytest

from projections.migrate import SchemaMismatch, code_revision
from tests.api.conftest import Env, submit
from tests.readmodel import stamp

EARLIER = f"{int(code_revision()) - 1:04d}"


def test_a_write_is_stored_and_answered_while_readiness_says_why_nothing_is_projected(env: Env) -> None:
    services = env.app.extensions["tracker"]
    read_model = services.read_model
    assert env.get("/readyz").status_code == 200
    stamp(read_model, EARLIER)

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
    assert env.get(f"/api/v1/innovations/{created['id']}", env.keys.provider).status_code == 200
    assert env.get("/readyz").status_code == 200
