"""`make run`'s steps: upgrade, load the demo once, print keys that work, and serve innovations in every stage."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from markupsafe import escape

from bootstrap import create_app
from importers.demo import DEMO_PEOPLE
from runtime.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def test_demo_loads_once_and_its_printed_keys_list_innovations_in_every_stage(empty_sqlite_url: str) -> None:
    env = os.environ | {"TRACKER_DATABASE_URL": empty_sqlite_url}

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

    def printed(output: str, heading: str) -> dict[str, list[str]]:
        """The lines under `heading`, by the slug they start with."""
        found: dict[str, list[str]] = {}
        inside = False
        for line in output.splitlines():
            if not line.startswith("  "):
                inside = line.startswith(heading)
            elif inside:
                slug, *rest = line.split()
                found[slug] = rest
        return found

    keys = {slug: rest[0] for slug, rest in printed(second, "Demo API keys").items()}
    assert set(keys) == {person.slug for person in DEMO_PEOPLE}
    sign_ins = {slug: rest[:2] for slug, rest in printed(second, "Demo sign-ins").items()}
    assert set(sign_ins) == {person.slug for person in DEMO_PEOPLE}

    app = create_app(Settings(database_url=empty_sqlite_url))
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
        old_analyst = printed(first, "Demo API keys")["analyst"][0]
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
        # Every evaluator has work waiting; some of it is overdue, some not yet due.
        waiting = {n: get("/api/v1/me/assignments", f"evaluator-{n}")["items"] for n in (1, 2, 3)}
        assert all(waiting.values()), waiting
        pending = [i for items in waiting.values() for i in items]
        assert any(i["overdue"] for i in pending)
        assert not all(i["overdue"] for i in pending)
        rounds = get("/api/v1/analytics/evaluation", "manager")["stages"]
        assert sum(s["done"] for s in rounds.values()) > sum(s["pending"] for s in rounds.values()) > 0
        in_assessment = [i["id"] for i in listing.json["items"] if i["stage"] == "assessment"]
        assert any(get(f"/api/v1/innovations/{iid}/notes", "manager") for iid in in_assessment)
        people = get("/api/v1/people?page_size=50", "admin")
        assert people["total"] == len(DEMO_PEOPLE)

        # The printed sign-ins work on the pages: the evaluator with pending work finds it in their queue.
        email, password = sign_ins["evaluator-2"]
        login = client.get("/login").get_data(as_text=True)
        token = login.split('name="csrf_token" value="')[1].split('"')[0]
        signed = client.post("/login", data={"csrf_token": token, "email": email, "password": password})
        assert signed.status_code == 302
        queue = client.get("/queue").get_data(as_text=True)
        pending_titles = [str(escape(item["title"])) for item in get("/api/v1/me/assignments", "evaluator-2")["items"]]
        assert all(title in queue for title in pending_titles)
    finally:
        app.extensions["tracker"].close()
