"""Hostile query parameters and headers are refused with a clear 4xx problem and write nothing; legitimate text that
looks like SQL or a formula is stored verbatim and given back unchanged, and CSV exports defuse formulas."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from api.csv_export import cell
from tests.api.conftest import INNOVATIONS, LABEL, Env, Tried, make_env, position, refused, send


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_env(request: pytest.FixtureRequest) -> Iterator[Env]:
    environment = make_env(request.getfixturevalue(f"{request.param}_url"))
    yield environment
    environment.app.extensions["tracker"].close()


QUERIES: dict[str, tuple[str, dict[str, str], int]] = {
    "NUL in a text search": (INNOVATIONS, {"q": "a\x00b"}, 422),
    "NUL in a theme filter": (INNOVATIONS, {"theme": "\x00"}, 422),
    "escape sequence in a search": ("/api/v1/organisations", {"q": "\x1b[2J"}, 422),
    "NUL in an ecosystem search": ("/api/v1/ecosystems", {"q": "\x00"}, 422),
    "NUL in the audit actor": ("/api/v1/audit", {"actor": "\x00"}, 422),
    "NUL in a parameter name": (INNOVATIONS, {"q\x00": "x"}, 422),
    "NaN minimum MPI": (INNOVATIONS, {"min_mpi": "NaN"}, 422),
    "infinite maximum MPI": (INNOVATIONS, {"max_mpi": "Infinity"}, 422),
    "huge MPI": (INNOVATIONS, {"min_mpi": "1e999"}, 422),
    "400-digit page": (INNOVATIONS, {"page": "9" * 400}, 422),
    "5,000-digit page": (INNOVATIONS, {"page": "9" * 5000}, 422),
    "negative page size": (INNOVATIONS, {"page_size": "-1"}, 422),
    "SQL in the sort order": (INNOVATIONS, {"sort": "title; DROP TABLE innovations--"}, 422),
    "SQL in the stage filter": (INNOVATIONS, {"stage": "' OR 1=1 --"}, 422),
    "SQL in a country filter": ("/api/v1/organisations", {"country": "FI' OR '1'='1"}, 422),
    "SQL in an aggregate id": ("/api/v1/audit", {"aggregate_id": "1' OR '1'='1"}, 422),
    "year 10000 as of": (INNOVATIONS, {"as_of": "10000-01-01T00:00:00+00:00"}, 422),
    "as of without a zone": (INNOVATIONS, {"as_of": "2025-01-01T00:00:00"}, 422),
}
# An offset that takes an instant out of the years UTC can name (before 0001 or after 9999): every query that reads
# an instant refuses it (the CSV export reads the list's query).
for _path, _name in (
    (INNOVATIONS, "as_of"),
    ("/api/v1/analytics/funnel", "as_of"),
    ("/api/v1/analytics/facets", "as_of"),
    ("/api/v1/analytics/mpi-distribution", "as_of"),
    ("/api/v1/analytics/scores", "as_of"),
    ("/api/v1/audit", "since"),
    ("/api/v1/audit", "until"),
):
    QUERIES[f"{_name} before year 1 in UTC on {_path}"] = (_path, {_name: "0001-01-01T00:00:00+01:00"}, 422)
    QUERIES[f"{_name} after year 9999 in UTC on {_path}"] = (_path, {_name: "9999-12-31T23:59:59-01:00"}, 422)
QUERIES["as_of before year 1 in UTC on one innovation"] = (
    f"{INNOVATIONS}/00000000-0000-0000-0000-000000000001",
    {"as_of": "0001-01-01T00:00:00+01:00"},
    422,
)


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_hostile_query_parameters_are_refused(hostile: Env, tried: Tried, name: str) -> None:
    path, query, status = QUERIES[name]
    tried(LABEL)
    refused(hostile.get(path, hostile.keys.admin, query_string=query), status)


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Min-Position": "9" * 5000},
        {"X-Min-Position": "-1"},
        {"X-Min-Position": "NaN"},
        {"X-Min-Position": "1e999"},
    ],
    ids=["huge", "negative", "nan", "float"],
)
def test_hostile_position_headers_are_refused(hostile: Env, tried: Tried, headers: dict[str, str]) -> None:
    tried(LABEL)
    refused(hostile.get(INNOVATIONS, hostile.keys.analyst, headers=headers), 400)


@pytest.mark.parametrize("if_match", ['"' + "9" * 5000 + '"', '"NaN"', '"-1"', "W/", '"1" OR 1=1'])
def test_hostile_if_match_is_refused_and_writes_nothing(
    hostile: Env, pilot: dict[str, str], tried: Tried, if_match: str
) -> None:
    before = position(hostile)
    response = send(
        hostile,
        tried,
        "PATCH",
        f"{INNOVATIONS}/{pilot['iid']}",
        hostile.keys.provider,
        json.dumps({"title": "Changed"}),
        headers={"If-Match": if_match},
    )
    refused(response, 412)
    assert position(hostile) == before


SQL_AND_FORMULA_TEXT = [
    "Robert'); DROP TABLE innovations;--",
    "' OR '1'='1",
    '" OR ""="',
    "1; SELECT pg_sleep(10); --",
    "x' UNION SELECT secret_hash FROM api_keys --",
    "%_\\%",
    '=HYPERLINK("http://evil.example","click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "-5",
    "😀 emoji from a surrogate pair",
    "\u202eevil-to-the-right",
]


def test_sql_and_formula_text_is_stored_verbatim_and_returned_unchanged(any_env: Env, tried: Tried) -> None:
    """Legitimate text that looks like SQL is data: 201, stored as written, found by search, no table harmed."""
    for text in SQL_AND_FORMULA_TEXT:
        created = any_env.post(
            INNOVATIONS,
            any_env.keys.provider,
            json={"title": text, "summary": text, "themes": [text[:80]], "ecosystem_id": str(any_env.world.ecosystem)},
        )
        tried(LABEL)
        assert created.status_code == 201, created.json
        assert created.json["title"] == text
        detail = any_env.get(f"{INNOVATIONS}/{created.json['id']}", any_env.keys.analyst)
        label = text[:80].strip().lower()  # themes are labels: trimmed and lower-cased, otherwise as written
        assert (detail.json["title"], detail.json["summary"], detail.json["themes"]) == (text, text, [label])
        found = any_env.get(INNOVATIONS, any_env.keys.analyst, query_string={"q": text[:200], "page_size": 200})
        tried(LABEL)
        assert found.status_code == 200
        assert created.json["id"] in [item["id"] for item in found.json["items"]]
        assert all(text.casefold() in item["title"].casefold() for item in found.json["items"])
    # Wildcards in a search are literal: '%' finds only titles holding a '%'.
    percent = any_env.get(INNOVATIONS, any_env.keys.analyst, query_string={"q": "%", "page_size": 200})
    tried(LABEL)
    assert {item["title"] for item in percent.json["items"]} == {"%_\\%"}
    listed = any_env.get(INNOVATIONS, any_env.keys.analyst, query_string={"page_size": 200})
    assert listed.json["total"] >= len(SQL_AND_FORMULA_TEXT)  # the table is still there


def _csv(env: Env, path: str, tried: Tried) -> list[dict[str, str]]:
    tried(LABEL)
    response = env.get(path, env.keys.analyst, headers={"Accept": "text/csv"}, query_string={"page_size": 200})
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMERIC_COLUMNS = {"mpi", "mpi_evaluators", "mpi_spread", "readiness_level", "version", "member_count"}


def test_csv_exports_neutralise_every_formula_cell(any_env: Env, tried: Tried) -> None:
    hostile_texts = [
        "=1+1",
        "+1+1",
        "-2+3",
        "@SUM(A1)",
        "\t=1+1",
        "\r=1+1",
        "-5",
        "+44",
        '=HYPERLINK("http://evil.example")',
    ]
    for text in hostile_texts:
        created = any_env.post(
            INNOVATIONS,
            any_env.keys.provider,
            json={"title": text, "summary": "s", "themes": [text.strip() or "x"], "target_groups": ["@group"]},
        )
        tried(LABEL)
        assert created.status_code == 201, created.json
        assert created.json["title"] == text.strip()  # the JSON API gives the text back as written (trimmed)
    org = any_env.post(
        "/api/v1/organisations", any_env.keys.admin, json={"name": "=cmd|' /C calc'!A0", "country": "FI", "kind": "ngo"}
    )
    eco = any_env.post("/api/v1/ecosystems", any_env.keys.admin, json={"acronym": "@ECO", "title": "-Eco"})
    tried(LABEL, 2)
    assert (org.status_code, eco.status_code) == (201, 201)

    rows = {
        "innovations": _csv(any_env, INNOVATIONS, tried),
        "organisations": _csv(any_env, "/api/v1/organisations", tried),
        "ecosystems": _csv(any_env, "/api/v1/ecosystems", tried),
    }
    for export, found in rows.items():
        for row in found:
            for column, value in row.items():
                if value.startswith(FORMULA_STARTS) and column not in NUMERIC_COLUMNS:
                    pytest.fail(f"{export}.{column} exported a live formula: {value!r}")
    titles = {row["title"] for row in rows["innovations"]}
    assert {"'=1+1", "'+1+1", "'-2+3", "'@SUM(A1)", "'-5", "'+44", '\'=HYPERLINK("http://evil.example")'} <= titles
    assert {row["themes"] for row in rows["innovations"]} >= {"'=1+1", "'@sum(a1)"}
    assert "'@group" in {row["target_groups"] for row in rows["innovations"]}
    assert "'=cmd|' /C calc'!A0" in {row["name"] for row in rows["organisations"]}
    assert ("'@ECO", "'-Eco") in {(row["acronym"], row["title"]) for row in rows["ecosystems"]}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@A1", "'@A1"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        (["=x", "y"], "'=x; y"),
        (-1, "-1"),
        (-2.5, "-2.5"),
        (Decimal("-3.10"), "-3.10"),
        (True, "True"),
        (None, ""),
        (date(2025, 1, 2), "2025-01-02"),
        (datetime(2025, 1, 2, 3, 4, tzinfo=UTC), "2025-01-02T03:04:00Z"),
    ],
)
def test_cell_defuses_text_but_keeps_computed_numbers(value: Any, expected: str, tried: Tried) -> None:
    tried(LABEL)
    assert cell(value) == expected
