"""Read-your-writes over HTTP with inline projections: a write is acknowledged before its projection, and a read in
the same process still sees it; with inline projections off the web process projects nothing."""

from __future__ import annotations

import time

from tests.api.conftest import Env, make_env


def test_a_write_is_acknowledged_before_it_is_projected_and_read_back_by_the_next_read(env: Env) -> None:
    services = env.app.extensions["tracker"]
    # The thread waits long after a wake-up and between looks: only the read below can project the write in time.
    services.projection.settle = services.projection.poll = 30
    time.sleep(0.2)  # until the thread is in its long wait
    response = env.post(
        "/api/v1/innovations", env.keys.provider, json={"title": "Read back", "summary": "x", "themes": ["rw"]}
    )
    assert response.status_code == 201
    position = int(response.headers["X-Event-Position"])
    assert services.read_model.position() < position
    detail = env.get(f"/api/v1/innovations/{response.json['id']}", env.keys.analyst)
    assert detail.status_code == 200, detail.json
    assert detail.json["title"] == "Read back"
    assert int(detail.headers["X-Projection-Position"]) >= position


def test_a_web_process_without_inline_projections_starts_no_projection_thread(sqlite_url: str) -> None:
    environment = make_env(sqlite_url, inline_projections=False)
    services = environment.app.extensions["tracker"]
    try:
        assert services.projection is None
        response = environment.post(
            "/api/v1/innovations", environment.keys.provider, json={"title": "t", "summary": "s", "themes": ["x"]}
        )
        assert response.status_code == 201
        time.sleep(0.3)
        assert services.read_model.position() < int(response.headers["X-Event-Position"])  # left to a worker
    finally:
        services.close()
