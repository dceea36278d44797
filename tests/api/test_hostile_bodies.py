"""Hostile request bodies, case by case: oversized, nested too deep, numbers that JSON cannot hold or a field
cannot take, broken UTF-8, control characters, a batch with one bad member, bad import files. Each is refused with a
clear 4xx problem and writes nothing (a number that underflows to zero is legitimate and stored)."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

import pytest

from api.json_input import MAX_DEPTH
from tests.api.conftest import INNOVATIONS, LABEL, Env, Tried, make_env, position, refused, send, submit

BASE = {"title": "Base title", "summary": "Base summary", "themes": ["base"]}


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
