"""`make run`'s steps: upgrade, load the demo once, print keys that work, and serve innovations in every stage."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bootstrap import create_app
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
    assert "demo data loaded: 5 ecosystems, 12 innovations" in tracker("demo", "load", "--if-empty")
    assert "not loaded" in tracker("demo", "load", "--if-empty")
    first = tracker("demo", "keys")
    second = tracker("demo", "keys")
    keys = dict(line.split() for line in second.splitlines() if line.startswith("  "))
    assert set(keys) == {"admin", "provider", "evaluator", "analyst"}

    app = create_app(Settings(database_url=sqlite_url))
    client = app.test_client()
    try:
        listing = client.get("/api/v1/innovations?page_size=50", headers={"Authorization": f"Bearer {keys['analyst']}"})
        assert listing.status_code == 200
        stages = {item["stage"] for item in listing.json["items"]}
        assert stages == {"identification", "testing", "development", "assessment", "mainstreamed"}
        statuses = {item["status"] for item in listing.json["items"]}
        assert statuses == {"active", "on_hold", "mainstreamed", "discontinued"}
        vision = client.get("/api/v1/ecosystems?q=vision", headers={"Authorization": f"Bearer {keys['provider']}"}).json
        assert vision["items"][0]["eu_grant_eur"] == "136836.00"
        old_analyst = dict(line.split() for line in first.splitlines() if line.startswith("  "))["analyst"]
        assert client.get("/api/v1/innovations", headers={"Authorization": f"Bearer {old_analyst}"}).status_code == 401
    finally:
        app.extensions["tracker"].close()
