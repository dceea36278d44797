"""The innovations CSV export: streamed tuples with per-column cells write exactly what the dictionary path wrote."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert

from api.csv_export import cell, csv_chunks, formatted
from api.resources.innovations import CSV_FORMATS
from projections import tables as t
from projections.queries.innovations import (
    EXPORT_COLUMNS,
    SORTS,
    InnovationFilter,
    iter_innovations,
    list_innovations,
)
from projections.read_model import ReadModel
from tests.api.conftest import Env, submit

# The header as the export has always written it: a spreadsheet or script may depend on the order.
HEADER = (
    "id,title,stage,status,mpi,mpi_evaluators,mpi_spread,themes,target_groups,organisation_id,organisation_name,"
    "country,ecosystem_id,ecosystem_acronym,readiness_level,pilots_count,evidence_count,assessments_count,"
    "adoptions_count,submitted_at,updated_at,version\r\n"
)
HOSTILE = ["=1+1", "+44", "-5", "@SUM(A1)", "\t=x", "\r=x", 'say "hi", then', "two\nlines", "ü; ß", "", " lead"]
# Any text a database keeps (PostgreSQL refuses NUL), with the awkward cases made likely.
TEXT = st.one_of(
    st.sampled_from(HOSTILE), st.text(st.characters(blacklist_characters="\x00", codec="utf-8"), max_size=12)
)
INSTANTS = st.datetimes(datetime(2000, 1, 1), datetime(2030, 12, 31)).flatmap(
    lambda d: st.sampled_from([d, d.replace(microsecond=0)])
)
NUMBERS = st.floats(min_value=-1e20, max_value=1e20, allow_nan=False)
INNOVATIONS = st.lists(
    st.fixed_dictionaries(
        {
            "id": st.uuids(),
            "title": TEXT,
            "themes": st.lists(TEXT, max_size=3),
            "target_groups": st.lists(TEXT, max_size=2),
            "organisation_id": st.uuids(),
            "organisation_name": TEXT,
            "country": st.sampled_from(["BE", "LT", "=1", "-", "@"]),
            "ecosystem_id": st.none() | st.uuids(),
            "ecosystem_acronym": st.none() | TEXT,
            "readiness_level": st.none() | st.integers(-3, 9),
            "stage": st.sampled_from(["identification", "testing", "=stage", "-1"]),
            "status": st.sampled_from(["active", "+paused"]),
            "mpi_value": st.none() | NUMBERS,
            "mpi_evaluators": st.integers(0, 5),
            "mpi_spread": st.none() | NUMBERS,
            "pilots_count": st.integers(0, 3),
            "evidence_count": st.integers(0, 3),
            "assessments_count": st.integers(0, 3),
            "adoptions_count": st.integers(0, 3),
            "submitted_at": INSTANTS,
            "updated_at": INSTANTS,
            "version": st.integers(1, 10**6),
        }
    ),
    max_size=12,
    unique_by=lambda row: row["id"],
)
FILTERS = st.sampled_from(
    [
        InnovationFilter(),
        InnovationFilter(country="BE"),
        InnovationFilter(stage="=stage"),
        InnovationFilter(theme="=1+1"),
        InnovationFilter(min_mpi=0),
        InnovationFilter(as_of=datetime(2031, 1, 1, tzinfo=UTC)),
        InnovationFilter(as_of=datetime(2015, 6, 1, tzinfo=UTC), country="LT"),
    ]
)


def dictionary_export(rows: list[dict[str, Any]]) -> str:
    """The export as written before: each listed summary flattened, every value through `cell`, then csv.writer."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER.strip().split(","))
    for item in rows:
        mpi = item["mpi"] or {}
        flat = item | {
            "mpi": mpi.get("value"),
            "mpi_evaluators": mpi.get("evaluators"),
            "mpi_spread": mpi.get("spread"),
        }
        writer.writerow([cell(flat.get(column)) for column in HEADER.strip().split(",")])
    return buffer.getvalue()


def streamed_export(conn: Any, f: InnovationFilter, sort: str) -> str:
    formats = [CSV_FORMATS.get(column) for column in EXPORT_COLUMNS]
    return "".join(csv_chunks(EXPORT_COLUMNS, formatted(iter_innovations(conn, f, sort=sort, chunk=3), formats)))


def _store(read_model: ReadModel, rows: list[dict[str, Any]]) -> None:
    """Write the innovations, their themes and one open stage, status and score interval each since submission."""
    innovations, themes, stages, statuses, scores = [], [], [], [], []
    for row in rows:
        iid, at = row["id"], row["submitted_at"]
        innovations.append(
            row
            | {
                "summary": "s",
                "search_text": "s",
                "mpi_evaluators": row["mpi_evaluators"],
                "evaluator_mpis": {},
                "pilots": [],
                "evidence": [],
                "adoptions": [],
                "stage_seq": 1,
                "stage_entered_at": at,
                "status_seq": 1,
                "score_seq": 1,
                "position": 1,
            }
        )
        themes += [{"innovation_id": iid, "theme": theme} for theme in {th.strip().lower() for th in row["themes"]}]
        stages.append({"innovation_id": iid, "seq": 1, "stage": row["stage"], "entered_at": at, "exited_at": None})
        statuses.append({"innovation_id": iid, "seq": 1, "status": row["status"], "entered_at": at, "exited_at": None})
        if row["mpi_value"] is not None:
            score = {"value": row["mpi_value"], "evaluators": row["mpi_evaluators"], "spread": row["mpi_spread"] or 0.0}
            scores.append({"innovation_id": iid, "seq": 1, "at": at, "valid_to": None} | score)
    written = (
        (t.innovations, innovations),
        (t.innovation_themes, themes),
        (t.stage_intervals, stages),
        (t.status_intervals, statuses),
        (t.score_history, scores),
    )
    with read_model.writer.begin() as conn:
        for table, values in written:
            conn.execute(delete(table))
            if values:
                conn.execute(insert(table), values)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=INNOVATIONS, f=FILTERS, sort=st.sampled_from(SORTS))
def test_streamed_export_writes_what_the_dictionary_export_wrote_when_cells_are_hostile(
    read_model: ReadModel, rows: list[dict[str, Any]], f: InnovationFilter, sort: str
) -> None:
    _store(read_model, rows)
    with read_model.reader.connect() as conn:
        expected = dictionary_export(list_innovations(conn, f, sort=sort, page_size=100).items)
        actual = streamed_export(conn, f, sort)
    assert actual.startswith(HEADER)
    assert actual == expected


CELLS = st.one_of(
    st.none(),
    st.text(st.sampled_from(["a", ",", '"', "\r", "\n", " ", "'", "=", "é"]), max_size=4),
    st.text(max_size=6),
    st.integers(),
    st.floats(),
    st.booleans(),
)


@settings(max_examples=300)
@given(rows=st.lists(st.lists(CELLS, min_size=0, max_size=4), max_size=6), width=st.integers(1, 4))
def test_csv_chunks_write_what_csv_writer_writes_when_cells_need_quoting(rows: list[list[Any]], width: int) -> None:
    columns = [f"c{n}" for n in range(width)]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    writer.writerows(rows)
    assert "".join(csv_chunks(columns, rows, rows_per_chunk=2)) == buffer.getvalue()


def test_http_export_writes_the_listed_innovations_when_the_portfolio_is_varied(env: Env) -> None:
    submit(env, title="=cmd|' /C calc'!A0", themes=["-x", "a, b"], target_groups=['"quoted"'])
    submit(env, title="Plain, with a comma", themes=["badges"], summary="s")
    services = env.app.extensions["tracker"]
    services.read_model.catch_up()
    response = env.get("/api/v1/innovations?sort=title", env.keys.analyst, headers={"Accept": "text/csv"})
    with services.read_model.reader.connect() as conn:
        expected = dictionary_export(list_innovations(conn, InnovationFilter(), sort="title", page_size=100).items)
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="innovations.csv"'
    assert response.get_data(as_text=True) == expected
    assert "'=cmd|' /C calc'!A0" in expected
    assert uuid.UUID(expected.splitlines()[1].split(",")[0])  # ids are canonical UUID text
