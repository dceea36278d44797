"""`make run`'s steps: upgrade, load the demo once, print keys that work, and serve innovations in every stage."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from bootstrap import create_app
from importers.demo import DEMO_PEOPLE
from runtime.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def test_demo_loads_once_and_its_printed_keys_list_innovations_in_every_stage(sqlite_url: str) -> None:
    env = os.environ | {"TRACKER_DATABASE_URL": sqlite_url}

    def tracker(*args: str) -> str:
        done = subprocess.run(  # noqa: S603 - our own CLI
            [sys.executable, "-m", "cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=True
        )
        return done.stdout + done.stderr

    tracker("db", "upgrade")
    assert "demo data loaded: 5 ecosystems, 12 innovations, 11 people" in tracker("demo", "load", "--if-empty")
    assert "not loaded" in tracker("demo", "load", "--if-empty")
    first = tracker("demo", "keys")
    second = tracker("demo", "keys")

    def printed(output: str) -> dict[str, str]:
        return {line.split()[0]: line.split()[1] for line in output.splitlines() if line.startswith("  ")}

    keys = printed(second)
    assert set(keys) == {person.slug for person in DEMO_PEOPLE}

    app = create_app(Settings(database_url=sqlite_url))
    client = app.test_client()
    try:
        listing = client.get("/api/v1/innovations?page_size=50", headers={"Authorization": f"Bearer {keys['analyst']}"})
        assert listing.status_code == 200
        stages = {item["stage"] for item in listing.json["items"]}
        assert stages == {"identification", "testing", "development", "assessment", "mainstreamed"}
        statuses = {item["status"] for item in listing.json["items"]}
        assert statuses == {"active", "on_hold", "mainstreamed", "discontinued"}
        vision = client.get("/api/v1/ecosystems?q=vision", headers={"Authorization": f"Bearer {keys['provider-lt']}"})
        assert vision.json["items"][0]["eu_grant_eur"] == "136836.00"
        old_analyst = printed(first)["analyst"]
        assert client.get("/api/v1/innovations", headers={"Authorization": f"Bearer {old_analyst}"}).status_code == 401

        # Every person is a person, and the evaluation round has something to show on each screen.
        def get(path: str, who: str) -> Any:
            answer = client.get(path, headers={"Authorization": f"Bearer {keys[who]}"})
            assert answer.status_code == 200, (path, who, answer.json)
            return answer.json

        for person in DEMO_PEOPLE:
            assert get("/api/v1/me", person.slug)["name"] == person.name
        queues = {n: get("/api/v1/me/assignments?state=all", f"evaluator-{n}")["items"] for n in (1, 2, 3)}
        assert all(queues.values())
        pending = [i for n in (2, 3) for i in get("/api/v1/me/assignments", f"evaluator-{n}")["items"]]
        assert pending
        assert any(i["overdue"] for i in pending)
        rounds = get("/api/v1/analytics/evaluation", "manager")["stages"]
        assert sum(s["done"] for s in rounds.values()) > sum(s["pending"] for s in rounds.values()) > 0
        in_assessment = [i["id"] for i in listing.json["items"] if i["stage"] == "assessment"]
        assert any(get(f"/api/v1/innovations/{iid}/notes", "manager") for iid in in_assessment)
        people = get("/api/v1/people?page_size=50", "admin")
        assert people["total"] == len(DEMO_PEOPLE)
    finally:
        app.extensions["tracker"].close()
