"""The running counts kept event by event: intervals entered and left per day (the funnel); the innovations per
facet, in all and per month of submission; the score history's rows begun and ended per month, per MPI band and per
score group; and the consolidated MPIs counted into score groups. A rebuild leaves them until its end and counts them
in one go (projections.counts)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import case

from projections import tables as t
from projections.rows import Rows


def count_day(rows: Rows, dimension: str, value: str, at: datetime, column: str) -> None:
    """Add one to the intervals of `value` entered (exited) on the day of `at`."""
    if rows.counts_deferred:
        return
    counts = {"entered": 0, "exited": 0} | {column: 1}
    rows.add(t.funnel_days, (dimension, value, at.date()), counts)


def count_facets(rows: Rows, row: dict[str, Any], sign: int) -> None:
    """Count an innovation into (sign 1) or out of (sign -1) the facets of its row (its country, organisation,
    ecosystem and themes), in all and in its month of submission."""
    if rows.counts_deferred:
        return
    month = month_of(row["submitted_at"])
    for facet, key, _ in score_groups_of(row):
        rows.add(t.facet_counts, (facet, key), {"innovations": sign})
        rows.add(t.facet_months, (facet, key, month), {"innovations": sign})


def score_groups_of(row: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    """The score groups (grouping, key, label) an innovation's consolidated MPI counts in."""
    groups = [
        ("country", row["country"], row["country"]),
        ("organisation", str(row["organisation_id"]), row["organisation_name"]),
    ]
    if row["ecosystem_id"] is not None:
        groups.append(("ecosystem", str(row["ecosystem_id"]), row["ecosystem_acronym"]))
    groups.extend(("theme", theme, theme) for theme in row["themes"])
    return groups


def recount_score(rows: Rows, row: dict[str, Any], **changes: Any) -> None:
    """Move an innovation's MPI between score groups as `changes` (its MPI, its themes) are made to its row.

    Call it before the row changes. Groups the innovation stays in get a count out and back in, which cancel."""
    if rows.counts_deferred:
        return
    after = row | changes
    if row["mpi_value"] is not None:
        count_score(rows, score_groups_of(row), row["mpi_value"], -1)
    if after["mpi_value"] is not None:
        count_score(rows, score_groups_of(after), after["mpi_value"], 1)


def count_score(rows: Rows, groups: list[tuple[str, str, str | None]], mpi: float, sign: int) -> None:
    """Count an MPI into (sign 1) or out of (sign -1) each group's total, whole-point bucket and exact value."""
    hundredths = round(mpi * 100)
    for group_by, key, label in groups:
        rows.add(
            t.score_groups, (group_by, key), {"innovations": sign, "mpi_hundredths": sign * hundredths}, label=label
        )
        rows.add(t.score_buckets, (group_by, key, hundredths // 100), {"innovations": sign})
        rows.add(t.score_values, (group_by, key, hundredths), {"innovations": sign})


BANDS = 10


def band(mpi: float) -> int:
    """The band of ten MPI points a value falls in: n where n × 10 ≤ value < n × 10 + 10, and 100 in the last."""
    return next((n for n in range(BANDS - 1, 0, -1) if mpi >= n * 10), 0)


def band_of(value: Any) -> Any:
    """`band` in SQL, by comparison: a cast would truncate on SQLite and round on PostgreSQL."""
    return case(*((value >= n * 10, n) for n in range(BANDS - 1, 0, -1)), else_=0)


def month_of(at: datetime) -> date:
    return at.date().replace(day=1)


def count_band(rows: Rows, mpi: float, at: datetime, column: str) -> None:
    """Add one to the score history's rows in `mpi`'s band that began (ended) in the month of `at`."""
    if rows.counts_deferred:
        return
    counts = {"entered": 0, "exited": 0} | {column: 1}
    rows.add(t.band_months, (band(mpi), month_of(at)), counts)


def count_score_months(
    rows: Rows,
    groups: list[tuple[str, str, str | None]],
    mpi: float,
    began: datetime,
    ended: datetime | None,
    sign: int,
) -> None:
    """Count a row of the score history (`mpi`, held from `began` until `ended` or on) into (sign 1) or out of
    (sign -1) its groups' monthly changes: entered in the month it began, exited in the month of max(began, ended)."""
    if rows.counts_deferred:
        return
    hundredths = sign * round(mpi * 100)
    nothing = {"entered": 0, "entered_hundredths": 0, "exited": 0, "exited_hundredths": 0}
    for group_by, key, _ in groups:
        entered = nothing | {"entered": sign, "entered_hundredths": hundredths}
        rows.add(t.group_months, (group_by, key, month_of(began)), entered)
        if ended is not None:
            exited = nothing | {"exited": sign, "exited_hundredths": hundredths}
            rows.add(t.group_months, (group_by, key, month_of(max(began, ended))), exited)


def move_score_history(rows: Rows, row: dict[str, Any], themes: list[str]) -> None:
    """Move an innovation's whole score history between theme groups as its themes change (call it before the row
    changes): the groups over time, like the groups as of an instant, group by the themes it has now."""
    if rows.counts_deferred or not row["score_seq"]:
        return
    gone = [("theme", theme, theme) for theme in row["themes"] if theme not in themes]
    added = [("theme", theme, theme) for theme in themes if theme not in row["themes"]]
    for seq in range(1, row["score_seq"] + 1):
        held = rows.get(t.score_history, row["id"], seq)
        assert held is not None
        count_score_months(rows, gone, held["value"], held["at"], held["valid_to"], -1)
        count_score_months(rows, added, held["value"], held["at"], held["valid_to"], 1)
