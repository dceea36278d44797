"""The admin's imports over Flask's test client: a real CoVE file (part of ../shared/data) imported in the background,
its progress page, its summary with refused rows, and refusals of a wrong file."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.pages.conftest import Pages, csrf_of

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "cove-projects.json"


@pytest.fixture
def admin(pages: Pages) -> FlaskClient:
    pages.person("admin", "ada@example.org", name="Ada Adams")
    client = pages.client()
    assert pages.sign_in(client, "ada@example.org").status_code == 302
    return client


def upload(client: FlaskClient, content: bytes, filename: str, source: str = "cove", filters: str = "") -> Any:
    token = csrf_of(client.get("/admin/imports"))
    data = {"csrf_token": token, "source": source, "filters": filters, "file": (io.BytesIO(content), filename)}
    return client.post("/admin/imports", data=data, content_type="multipart/form-data")


def finished(client: FlaskClient, location: str) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        page = client.get(location).get_data(as_text=True)
        if 'http-equiv="refresh"' not in page:
            return page
        time.sleep(0.2)
    raise AssertionError("the import did not end within 60 s")


def test_a_cove_file_is_imported_in_the_background_with_its_summary(pages: Pages, admin: FlaskClient) -> None:
    projects = json.loads(DATA.read_text(encoding="utf-8"))[:3]
    projects.append({"acronym": "", "project_title": ""})  # a row the importer refuses, with its reason
    started = upload(admin, json.dumps(projects).encode(), "cove-part.json")
    assert started.status_code == 302
    page = finished(admin, started.headers["Location"])
    assert "Created</dt><dd>3</dd>" in page
    assert "Refused</dt><dd>1</dd>" in page
    assert "Refused rows" in page
    assert "cove-part.json" in admin.get("/admin/imports").get_data(as_text=True)
    again = finished(admin, upload(admin, json.dumps(projects).encode(), "cove-part.json").headers["Location"])
    assert "Unchanged (already here)</dt><dd>3</dd>" in again


def test_a_file_that_is_not_json_fails_with_its_reason_and_imports_nothing(pages: Pages, admin: FlaskClient) -> None:
    before = pages.services.app.current_position()
    page = finished(admin, upload(admin, b"{not json", "broken.json").headers["Location"])
    assert "could not be imported" in page
    assert "not a readable JSON file" in page
    assert pages.services.app.current_position() == before


def test_a_wrong_kind_of_file_or_filter_is_refused_at_once(pages: Pages, admin: FlaskClient) -> None:
    wrong = upload(admin, b"a,b\n1,2\n", "projects.csv", source="cove")
    assert wrong.status_code == 422
    assert "takes .json files" in wrong.get_data(as_text=True)
    bad_filter = upload(admin, b"a,b\n1,2\n", "projects.csv", source="erasmus", filters="nonsense")
    assert bad_filter.status_code == 422
    token = csrf_of(admin.get("/admin/imports"))
    missing = admin.post("/admin/imports", data={"csrf_token": token, "source": "cove"})
    assert missing.status_code == 422
    assert "Choose a file." in missing.get_data(as_text=True)
