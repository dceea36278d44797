"""Imports over HTTP, and the API answering over imported data."""

from __future__ import annotations

import io
from pathlib import Path

from tests.api.conftest import Env, position
from tests.readmodel import store_fails_at

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def upload(env: Env, key: str, source: str, path: Path, **form: object) -> object:
    data = {"source": source, "file": (io.BytesIO(path.read_bytes()), path.name), **form}
    return env.post("/api/v1/imports", key, data=data, content_type="multipart/form-data")


def test_admin_imports_cove_over_http_and_lists_answer_by_country_with_importer_in_audit(env: Env) -> None:
    response = upload(env, env.keys.admin, "cove", DATA / "cove-projects.json")
    assert response.status_code == 200, response.json
    summary = response.json
    assert (summary["created"], summary["organisations_created"], summary["memberships_created"]) == (73, 1578, 1856)
    position = response.headers["X-Event-Position"]
    again = upload(env, env.keys.admin, "cove", DATA / "cove-projects.json").json
    assert (again["created"], again["unchanged"], again["changed_nothing"]) == (0, 73, True)

    read = {"X-Min-Position": position}
    greek_orgs = env.get("/api/v1/organisations?country=GR&page_size=200", env.keys.analyst, headers=read).json
    assert greek_orgs["total"] > 50
    assert {o["country"] for o in greek_orgs["items"]} == {"GR"}
    greek_ecosystems = env.get("/api/v1/ecosystems?country=GR", env.keys.analyst, headers=read).json
    assert greek_ecosystems["total"] >= 17
    dairy = env.get("/api/v1/ecosystems?q=dairy", env.keys.analyst, headers=read).json["items"][0]
    members = env.get(f"/api/v1/ecosystems/{dairy['id']}", env.keys.analyst, headers=read).json["members"]
    assert len(members) == 56
    assert members[0]["role"] == "coordinator"
    funnel = env.get("/api/v1/analytics/funnel?country=GR", env.keys.analyst, headers=read)
    assert funnel.status_code == 200
    importer = f"importer:{env.person_id(env.keys.admin)}"  # the admin who uploaded, as the importer
    audit = env.get(f"/api/v1/audit?actor={importer}&limit=5", env.keys.analyst, headers=read).json
    assert [i["actor"] for i in audit["items"]] == [{"id": importer, "role": "importer"}] * 5
    history = env.get(f"/api/v1/audit?aggregate_id={dairy['id']}", env.keys.analyst).json["items"]
    assert history[0]["correlation_id"].startswith("import:cove-projects.json@")
    assert "#row=1" in history[0]["correlation_id"]


def test_erasmus_upload_with_filter_and_refusals(env: Env) -> None:
    sample = DATA / "erasmus-plus-projects-sample.csv"
    filtered = upload(env, env.keys.admin, "erasmus", sample, filter=["Key Action~mobility"])
    assert filtered.status_code == 200
    assert (filtered.json["created"], filtered.json["skipped"]) == (5, 4)
    grants = env.get("/api/v1/ecosystems?q=2016-1-LI01-KA101-000050", env.keys.analyst).json["items"]
    assert grants[0]["eu_grant_eur"] == "53110.00"
    assert upload(env, env.keys.analyst, "erasmus", sample).status_code == 403
    assert upload(env, env.keys.admin, "cove", sample).status_code == 422
    assert upload(env, env.keys.admin, "erasmus", sample, filter=["nonsense"]).status_code == 422
    assert upload(env, env.keys.admin, "weather", sample).status_code == 422
    cove = upload(env, env.keys.admin, "cove", DATA / "cove-projects.json", filter=["Key Action~mobility"])
    assert cove.status_code == 422
    assert cove.json["errors"]["filter"] == ["filters apply to Erasmus+ exports only, not to a cove import"]
    missing = env.post("/api/v1/imports", env.keys.admin, data={"source": "cove"}, content_type="multipart/form-data")
    assert missing.status_code == 422


def test_the_document_describes_the_upload_as_one_multipart_body(env: Env) -> None:
    """The file, its source and the filters are the parts of one multipart/form-data body, as a generated client
    sends them; OpenAPI 3 has no formData parameters."""
    document = env.get("/api/v1/openapi.json").json
    operation = document["paths"]["/api/v1/imports"]["post"]
    assert all(p["in"] in ("query", "header", "path", "cookie") for p in operation.get("parameters", []))
    (content,) = operation["requestBody"]["content"].items()
    assert content[0] == "multipart/form-data"
    name = content[1]["schema"]["$ref"].rsplit("/", 1)[-1]
    schema = document["components"]["schemas"][name]
    assert set(schema["properties"]) == {"file", "source", "filter", "dry_run"}
    assert schema["properties"]["file"] == {"type": "string", "format": "binary"}
    assert set(schema["required"]) == {"file", "source"}
    for path in ("/api/v1/organisations", "/api/v1/ecosystems"):
        headers = document["paths"][path]["post"]["responses"]["201"]["headers"]
        assert set(headers) >= {"ETag", "X-Event-Position", "Location"}, path
        assert all("schema" in header for header in headers.values()), path


def test_an_import_the_store_stops_answers_503_with_what_was_done(env: Env, monkeypatch: object) -> None:
    store_fails_at(monkeypatch, env.app.extensions["tracker"].app, 3)
    response = upload(env, env.keys.admin, "erasmus", DATA / "erasmus-plus-projects-sample.csv")
    assert response.status_code == 503, response.json
    assert response.headers["Retry-After"] == "2"
    assert response.content_type == "application/problem+json"
    assert "stopped at row 3" in response.json["detail"]
    assert (response.json["summary"]["created"], response.json["summary"]["rows"]) == (2, 3)


def test_a_dry_run_upload_answers_what_the_import_would_do_and_writes_nothing(env: Env) -> None:
    sample = DATA / "erasmus-plus-projects-sample.csv"
    before = position(env)
    checked = upload(env, env.keys.admin, "erasmus", sample, dry_run="true")
    assert checked.status_code == 200, checked.json
    assert (checked.json["dry_run"], checked.json["created"], checked.json["organisations_created"]) == (True, 9, 24)
    assert position(env) == before
    assert env.get("/api/v1/ecosystems?q=2016-1-LI01-KA101-000050", env.keys.analyst).json["total"] == 0
    done = upload(env, env.keys.admin, "erasmus", sample)
    assert (done.json["dry_run"], done.json["created"], done.json["organisations_created"]) == (False, 9, 24)


def test_a_filter_on_a_column_the_export_lacks_is_refused_as_the_filters_fault(env: Env) -> None:
    sample = DATA / "erasmus-plus-projects-sample.csv"
    refused = upload(env, env.keys.admin, "erasmus", sample, filter=["Country=LT"])
    assert refused.status_code == 422
    assert refused.json["detail"] == "erasmus-plus-projects-sample.csv has no column 'Country' to filter on"
    assert list(refused.json["errors"]) == ["filter"]
