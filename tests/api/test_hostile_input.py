"""Hostile input, case by case: each is refused with a clear 4xx problem and writes nothing, or (where the input is
legitimate, such as SQL written as text) is stored verbatim and given back unchanged. CSV exports defuse formulas."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from api.csv_export import cell
from api.json_input import MAX_DEPTH
from tests.api.conftest import Env, make_env, submit

Tried = Callable[..., None]
LABEL = "hostile input"
INNOVATIONS = "/api/v1/innovations"
BASE = {"title": "Base title", "summary": "Base summary", "themes": ["base"]}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    environment = make_env(f"sqlite:///{tmp_path_factory.mktemp('hostile')}/tracker.db")
    yield environment
    environment.app.extensions["tracker"].close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_env(request: pytest.FixtureRequest) -> Iterator[Env]:
    environment = make_env(request.getfixturevalue(f"{request.param}_url"))
    yield environment
    environment.app.extensions["tracker"].close()


def position(env: Env) -> int:
    return int(env.app.extensions["tracker"].app.current_position())


def send(env: Env, tried: Tried, method: str, path: str, key: str, body: bytes | str, **kw: Any) -> Any:
    tried(LABEL)
    data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    return env.call(method, path, key, data=data, content_type=kw.pop("content_type", "application/json"), **kw)


def refused(response: Any, status: int, detail: str | None = None, field: str | None = None) -> None:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.content_type == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == status
    assert problem["title"]
    if detail is not None:
        assert detail in problem["detail"], problem
    if field is not None:
        assert field in problem["errors"], problem


def with_raw(fields: dict[str, str]) -> str:
    """The base innovation with some members written as raw JSON text (NaN, huge numbers, bad escapes...)."""
    text = json.dumps(BASE)[:-1]
    return text + "".join(f', "{name}": {raw}' for name, raw in fields.items()) + "}"


@dataclass(frozen=True)
class Hostile:
    body: bytes | str
    status: int
    detail: str | None = None
    field: str | None = None


# Sent as a provider's new innovation; every one is refused and nothing is written.
SUBMISSIONS: dict[str, Hostile] = {
    "oversized body (2 MiB)": Hostile(with_raw({"target_groups": json.dumps(["x" * 1000] * 2100)}), 413),
    "oversized string (1.5 MiB)": Hostile(json.dumps(BASE | {"summary": "s" * 1_500_000}), 413),
    "100,000 nested arrays": Hostile(b"[" * 100_000 + b"]" * 100_000, 400, "nested more than"),
    "100,000 unclosed braces": Hostile(b"{" * 100_000, 400, "nested more than"),
    "3,000 nested objects in an unknown field": Hostile(
        with_raw({"extra": '{"a": ' * 3000 + "1" + "}" * 3000}), 400, "nested more than"
    ),
    "nesting one level past the limit": Hostile(
        with_raw({"themes": "[" * MAX_DEPTH + "]" * MAX_DEPTH}), 400, f"more than {MAX_DEPTH} levels"
    ),
    "nesting at the limit, wrong type": Hostile(
        with_raw({"themes": "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)}), 422, field="themes.0"
    ),
    "400-digit integer": Hostile(with_raw({"readiness_level": "9" * 400}), 422, field="readiness_level"),
    "5,000-digit integer": Hostile(with_raw({"readiness_level": "9" * 5000}), 400, "4300 digits"),
    "negative 5,000-digit integer": Hostile(with_raw({"readiness_level": "-" + "9" * 5000}), 400),
    "float overflowing to infinity": Hostile(with_raw({"readiness_level": "1e999"}), 400, "too large"),
    "float where an integer goes": Hostile(with_raw({"readiness_level": "1e308"}), 422, field="readiness_level"),
    "fractional integer": Hostile(with_raw({"readiness_level": "4.5"}), 422, field="readiness_level"),
    "NaN": Hostile(with_raw({"readiness_level": "NaN"}), 400, "NaN is not a JSON number"),
    "Infinity": Hostile(with_raw({"readiness_level": "Infinity"}), 400, "Infinity is not a JSON number"),
    "-Infinity": Hostile(with_raw({"readiness_level": "-Infinity"}), 400, "-Infinity is not a JSON number"),
    "NaN as a title": Hostile(with_raw({"title": "NaN"}), 400, "NaN"),
    "invalid UTF-8 byte": Hostile(b'{"title": "\xff\xfe", "summary": "S", "themes": ["x"]}', 400, "not valid UTF-8"),
    "overlong UTF-8 slash": Hostile(b'{"title": "a\xc0\xafb", "summary": "S", "themes": ["x"]}', 400, "UTF-8"),
    "truncated UTF-8 sequence": Hostile(b'{"title": "caf\xc3", "summary": "S", "themes": ["x"]}', 400, "UTF-8"),
    "UTF-8 encoded surrogate": Hostile(b'{"title": "\xed\xa0\x80", "summary": "S", "themes": ["x"]}', 400, "UTF-8"),
    "lone surrogate escape": Hostile(with_raw({"title": '"\\ud800"'}), 400, "surrogate"),
    "lone low surrogate in a list": Hostile(with_raw({"themes": '["ok", "a\\udfffb"]'}), 400, "surrogate"),
    "lone surrogate in a key": Hostile(with_raw({"\\ud800": "1"}), 400, "surrogate"),
    "NUL in the title": Hostile(json.dumps(BASE | {"title": "a\x00b"}), 422, "control characters", "title"),
    "BEL in the summary": Hostile(json.dumps(BASE | {"summary": "ring\x07"}), 422, "control characters", "summary"),
    "ESC sequence in a theme": Hostile(json.dumps(BASE | {"themes": ["\x1b[31mred"]}), 422, "control characters"),
    "DEL in the title": Hostile(json.dumps(BASE | {"title": "a\x7fb"}), 422, "control characters", "title"),
    "C1 control in the title": Hostile(json.dumps(BASE | {"title": "a\x85b"}), 422, "control characters", "title"),
    "10,000 themes": Hostile(json.dumps(BASE | {"themes": ["t"] * 10_000}), 422, field="themes"),
    "10,000 target groups": Hostile(json.dumps(BASE | {"target_groups": ["g"] * 10_000}), 422, field="target_groups"),
    "10,000-item array as the body": Hostile(json.dumps([BASE] * 10_000), 422),
    "10,000 numbers as a theme": Hostile(json.dumps(BASE | {"themes": [list(range(10_000))]}), 422, field="themes.0"),
    "not JSON at all": Hostile(b"title=x&summary=y", 400, "invalid JSON"),
    "trailing garbage": Hostile(json.dumps(BASE) + "}", 400, "invalid JSON"),
    "SQL in the sort order": Hostile(json.dumps(BASE | {"sort": "title; DROP TABLE innovations"}), 422, field="sort"),
    "unknown field with SQL": Hostile(json.dumps(BASE | {"id; DROP TABLE x": 1}), 422),
    "blank title": Hostile(json.dumps(BASE | {"title": " \t "}), 422, field="title"),
}


@pytest.mark.parametrize("name", sorted(SUBMISSIONS))
def test_hostile_submission_is_refused_clearly_and_writes_nothing(hostile: Env, tried: Tried, name: str) -> None:
    case = SUBMISSIONS[name]
    before = position(hostile)
    response = send(hostile, tried, "POST", INNOVATIONS, hostile.keys.provider, case.body)
    refused(response, case.status, case.detail, case.field)
    assert position(hostile) == before


@pytest.fixture(scope="module")
def pilot(hostile: Env) -> dict[str, str]:
    created = submit(hostile, title="Pilot target")
    started = hostile.post(
        f"{INNOVATIONS}/{created['id']}/pilots",
        hostile.keys.provider,
        json={"site_organisation_id": str(hostile.world.site), "started_on": "2025-01-01"},
    )
    assert started.status_code == 201
    return {"iid": created["id"], "pilot": started.json["pilot_id"]}


OUTCOME = '{"ended_on": "2025-03-01", "participants": %s, "completion_rate": %s, "satisfaction": %s}'
# (participants, completion_rate, satisfaction) as raw JSON, the status, and a word the problem must contain.
OUTCOMES: dict[str, tuple[tuple[str, str, str], int, str]] = {
    "NaN completion rate": (("10", "NaN", "4"), 400, "NaN"),
    "Infinity satisfaction": (("10", "0.5", "Infinity"), 400, "Infinity"),
    "-Infinity completion rate": (("10", "-Infinity", "4"), 400, "-Infinity"),
    "completion rate 1e999": (("10", "1e999", "4"), 400, "too large"),
    "completion rate past 1": (("10", "1.0000001", "4"), 422, "completion_rate"),
    "negative zero past the end": (("10", "0.5", "-1e-400"), 201, ""),
    "huge participant count": (("1" + "0" * 300, "0.5", "4"), 422, "participants"),
    "participants as a float": (("1e2", "0.5", "4"), 422, "participants"),
}


@pytest.mark.parametrize("name", sorted(OUTCOMES))
def test_hostile_numbers_in_an_outcome_are_refused(hostile: Env, tried: Tried, name: str) -> None:
    raw, status, expected = OUTCOMES[name]
    target = submit(hostile, title=f"Outcome target {name}")
    started = hostile.post(
        f"{INNOVATIONS}/{target['id']}/pilots",
        hostile.keys.provider,
        json={"site_organisation_id": str(hostile.world.site), "started_on": "2025-01-01"},
    )
    before = position(hostile)
    path = f"{INNOVATIONS}/{target['id']}/pilots/{started.json['pilot_id']}/outcome"
    response = send(hostile, tried, "POST", path, hostile.keys.provider, OUTCOME % raw)
    if status == 201:  # -1e-400 underflows to -0.0: a legitimate zero satisfaction
        assert response.status_code == 201, response.json
        return
    refused(response, status)
    assert expected in json.dumps(response.get_json())
    assert position(hostile) == before


def test_hostile_scores_in_an_assessment_are_refused(hostile: Env, pilot: dict[str, str], tried: Tried) -> None:
    path = f"{INNOVATIONS}/{pilot['iid']}/assessments"
    scores = '{"relevance": %s, ' + ", ".join(
        f'"{name}": 3' for name in ("effectiveness", "transferability", "sustainability", "partnership", "openness")
    )
    scores += "}"
    for raw, status in (("NaN", 400), ("Infinity", 400), ("1e999", 400), ("9" * 400, 422), ("3.5", 422), ("-1", 422)):
        before = position(hostile)
        body = '{"scores": ' + scores % raw + ', "rationale": "r"}'
        refused(send(hostile, tried, "POST", path, hostile.keys.evaluator, body), status)
        assert position(hostile) == before


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


def test_partial_writes_never_happen_when_a_batch_is_refused(hostile: Env, tried: Tried) -> None:
    """An ecosystem with members is one atomic write: one bad member refuses the whole of it."""
    before = position(hostile)
    members = [
        {"organisation_id": str(hostile.world.owner), "role": "partner"},
        {"organisation_id": str(hostile.world.site), "role": "partner"},
        {"organisation_id": "00000000-0000-4000-8000-000000000000", "role": "partner"},
    ]
    response = send(
        hostile,
        tried,
        "POST",
        "/api/v1/ecosystems",
        hostile.keys.admin,
        json.dumps({"acronym": "HALF", "title": "Half written", "members": members}),
    )
    refused(response, 404)
    ten_thousand = [{"organisation_id": str(hostile.world.owner), "role": "partner"}] * 10_000
    response = send(
        hostile,
        tried,
        "POST",
        "/api/v1/ecosystems",
        hostile.keys.admin,
        json.dumps({"acronym": "BIG", "title": "Too many", "members": ten_thousand}),
    )
    refused(response, 422, field="members")
    assert position(hostile) == before
    listed = hostile.get("/api/v1/ecosystems", hostile.keys.admin, query_string={"q": "HALF"})
    assert listed.json["total"] == 0


def test_hostile_import_files_are_refused_and_write_nothing(tmp_path: Any, tried: Tried) -> None:
    environment = make_env(f"sqlite:///{tmp_path}/tracker.db", import_max_bytes=64 * 1024)
    try:
        before = position(environment)
        files = {
            "20,000 nested arrays": (b"[" * 20_000 + b"]" * 20_000, 422),
            "5,000-digit integer": (b'[{"id": ' + b"9" * 5000 + b"}]", 422),
            "invalid UTF-8": (b'[{"title": "\xff"}]', 422),
            "over the upload limit": (b"[" + b'"x",' * 20_000 + b'"x"]', 413),
        }
        for name, (content, status) in files.items():
            tried(LABEL)
            response = environment.post(
                "/api/v1/imports",
                environment.keys.admin,
                data={"source": "cove", "file": (io.BytesIO(content), "cove.json")},
                content_type="multipart/form-data",
            )
            refused(response, status)
            assert position(environment) == before, name
    finally:
        environment.app.extensions["tracker"].close()


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
