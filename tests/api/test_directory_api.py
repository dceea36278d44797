"""Organisations and ecosystems over HTTP."""

from __future__ import annotations

import csv
import io
from uuid import UUID

from tests.api.conftest import Env


def test_admin_registers_organisation_and_eu_greece_becomes_gr(env: Env) -> None:
    response = env.post(
        "/api/v1/organisations", env.keys.admin, json={"name": "Hellenic VET", "country": "EL", "kind": "vet_provider"}
    )
    assert response.status_code == 201
    assert response.json["country"] == "GR"
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Location"] == f"/api/v1/organisations/{response.json['id']}"
    assert int(response.headers["X-Event-Position"]) > 0
    again = env.post(
        "/api/v1/organisations", env.keys.admin, json={"name": "hellenic  vet", "country": "GR", "kind": "ngo"}
    )
    assert again.status_code == 409
    assert again.content_type == "application/problem+json"
    assert again.json["rule"] == "duplicate.organisation"
    # The filters read EL as GR too (and UK as GB), as the tracker stores it.
    env.app.extensions["tracker"].read_model.catch_up()
    greek_names = {o["name"] for o in env.get("/api/v1/organisations?country=GR", env.keys.admin).json["items"]}
    assert "Hellenic VET" in greek_names
    found = env.get("/api/v1/organisations?country=EL", env.keys.admin).json
    assert {o["name"] for o in found["items"]} == greek_names
    greek = env.world.app.submit_innovation(
        actor=env.world.provider,
        title="Greek pilot",
        summary="s",
        themes=["t"],
        organisation_id=UUID(response.json["id"]),
    ).aggregate_id
    env.app.extensions["tracker"].read_model.catch_up()
    listed = env.get("/api/v1/innovations?country=EL", env.keys.analyst).json["items"]
    assert [i["id"] for i in listed] == [str(greek)]
    funnel = env.get("/api/v1/analytics/funnel?country=EL", env.keys.analyst).json
    assert sum(funnel["stages"].values()) == 1


def test_organisation_input_is_refused_with_field_errors_when_invalid(env: Env) -> None:
    response = env.post(
        "/api/v1/organisations", env.keys.admin, json={"name": "", "country": "Greece", "kind": "club", "extra": 1}
    )
    assert response.status_code == 422
    assert set(response.json["errors"]) == {"name", "country", "kind", "extra"}
    invalid_code = env.post("/api/v1/organisations", env.keys.admin, json={"name": "X", "country": "ZZ", "kind": "ngo"})
    assert invalid_code.status_code == 422
    assert invalid_code.json["errors"] == {
        "country": ["Must be an ISO 3166-1 alpha-2 code in capitals (EL and UK are accepted)."]
    }


def test_organisations_list_filters_and_item_carries_etag(env: Env) -> None:
    listing = env.get("/api/v1/organisations?country=FI", env.keys.provider)
    assert listing.status_code == 200
    assert [o["name"] for o in listing.json["items"]] == ["Finnish National Agency for Education"]
    assert listing.json["total"] == 1
    assert "X-Projection-Position" in listing.headers
    item = env.get(f"/api/v1/organisations/{env.world.owner}", env.keys.evaluator)
    assert item.status_code == 200
    assert item.headers["ETag"] == '"1"'
    assert env.get("/api/v1/organisations/00000000-0000-0000-0000-000000000000", env.keys.analyst).status_code == 404
    assert env.get("/api/v1/organisations?kind=research&q=cedefop", env.keys.analyst).json["total"] == 1


def test_ecosystem_is_registered_with_members_and_grows(env: Env) -> None:
    body = {
        "acronym": "V2V",
        "title": "Ten VET schools",
        "eu_grant_eur": "250000.50",
        "start_date": "2022-01-01",
        "members": [{"organisation_id": str(env.world.site), "role": "coordinator"}],
    }
    created = env.post("/api/v1/ecosystems", env.keys.admin, json=body)
    assert created.status_code == 201, created.json
    assert created.json["eu_grant_eur"] == "250000.50"
    eco_id = created.json["id"]
    added = env.post(
        f"/api/v1/ecosystems/{eco_id}/members",
        env.keys.admin,
        json={"organisation_id": str(env.world.member), "role": "partner"},
    )
    assert added.status_code == 201
    assert added.headers["ETag"] == '"3"'
    duplicate = env.post(
        f"/api/v1/ecosystems/{eco_id}/members",
        env.keys.admin,
        json={"organisation_id": str(env.world.member), "role": "partner"},
    )
    assert duplicate.status_code == 409
    stale = env.post(
        f"/api/v1/ecosystems/{eco_id}/members",
        env.keys.admin,
        json={"organisation_id": str(env.world.owner), "role": "partner"},
        headers={"If-Match": '"2"'},
    )
    assert stale.status_code == 412
    detail = env.get(f"/api/v1/ecosystems/{eco_id}", env.keys.analyst)
    assert [(m["role"], m["country"]) for m in detail.json["members"]] == [("coordinator", "NL"), ("partner", "IT")]
    assert env.get("/api/v1/ecosystems?country=NL", env.keys.analyst).json["total"] == 1
    unknown = env.post(
        "/api/v1/ecosystems",
        env.keys.admin,
        json=body | {"members": [{"organisation_id": "00000000-0000-0000-0000-000000000001", "role": "partner"}]},
    )
    assert unknown.status_code == 404


def test_lists_export_csv_when_asked(env: Env) -> None:
    env.post(
        "/api/v1/organisations", env.keys.admin, json={"name": '=HYPERLINK("http://x")', "country": "FI", "kind": "ngo"}
    )
    response = env.get("/api/v1/organisations?country=FI", env.keys.analyst, headers={"Accept": "text/csv"})
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0].startswith("id,name,country,kind")
    assert any("'=HYPERLINK" in line for line in lines)
    ecosystems = env.get("/api/v1/ecosystems", env.keys.analyst, headers={"Accept": "text/csv"})
    assert ecosystems.get_data(as_text=True).count("\n") == 2


def test_the_people_list_exports_csv_to_those_who_may_list_people(env: Env) -> None:
    services = env.app.extensions["tracker"]
    services.people.create(actor_id="admin", name="=cmd|' /C calc'!A0", email="ada@example.org", role="analyst")
    response = env.get("/api/v1/people?role=analyst", env.keys.manager, headers={"Accept": "text/csv"})
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    listed = env.get("/api/v1/people?role=analyst&page_size=1", env.keys.manager).json
    assert len(rows) == listed["total"] > 1  # every match, not one page
    assert list(rows[0]) == ["id", "name", "email", "role", "organisation_id", "locale", "active"]
    assert {row["role"] for row in rows} == {"analyst"}
    assert "'=cmd|' /C calc'!A0" in {row["name"] for row in rows}
    assert env.get("/api/v1/people", env.keys.analyst, headers={"Accept": "text/csv"}).status_code == 403
