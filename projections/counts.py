"""The running counts, counted again from the read model's own rows in SQL.

The projection keeps the running counts (projections.running_counts) and the evaluators' grants (projections.grants)
event by event. A rebuild puts that off and counts them here once, at its end (see projections.deferred), with the
SQL that migrations 0006, 0007, 0015, 0020, 0022, 0023 and 0024 filled the new tables with (they keep their own copy: a
migration must not change when this module does). Each function replaces what its tables held."""

from __future__ import annotations

from sqlalchemy import Connection, literal_column

from projections import grants
from projections.running_counts import band_of

INTERVALS = (("stage", "rm_stage_intervals"), ("status", "rm_status_intervals"))


def recount(conn: Connection) -> None:
    recount_funnel_days(conn)
    recount_band_months(conn)
    recount_score_groups(conn)
    recount_group_months(conn)
    recount_facets(conn)
    grants.recount(conn)


def recount_facets(conn: Connection) -> None:
    """Count every innovation into its facets, in all and by month of submission, as
    projections.running_counts.count_facets does event by event."""
    dialect = conn.dialect.name
    month = month_start("submitted_at", dialect)
    conn.exec_driver_sql("DELETE FROM rm_facet_counts")
    conn.exec_driver_sql("DELETE FROM rm_facet_months")
    for facet, key, source in (
        ("country", "country", "rm_innovations"),
        ("organisation", uuid_text("organisation_id", dialect), "rm_innovations"),
        ("ecosystem", uuid_text("ecosystem_id", dialect), "rm_innovations WHERE ecosystem_id IS NOT NULL"),
        ("theme", "theme", "rm_innovation_themes"),
    ):
        conn.exec_driver_sql(
            "INSERT INTO rm_facet_counts (facet, key, innovations) "  # noqa: S608 - names from this list
            f"SELECT '{facet}', {key}, count(*) FROM {source} GROUP BY {key}"
        )
        conn.exec_driver_sql(
            "INSERT INTO rm_facet_months (facet, key, month, innovations) "  # noqa: S608 - names from this list
            f"SELECT '{facet}', {key}, {month}, count(*) FROM {source} GROUP BY {key}, {month}"
        )


def recount_funnel_days(conn: Connection) -> None:
    """Count each interval on the day it was entered and, once exited, on the day of max(entry, exit), as
    projections.running_counts.count_day does."""
    if conn.dialect.name == "postgresql":
        entered_day, exited_day = "CAST(entered_at AS DATE)", "CAST(GREATEST(entered_at, exited_at) AS DATE)"
    else:
        entered_day, exited_day = "date(entered_at)", "date(max(entered_at, exited_at))"
    conn.exec_driver_sql("DELETE FROM rm_funnel_days")
    for dimension, table in INTERVALS:
        conn.exec_driver_sql(
            f"""
            INSERT INTO rm_funnel_days (dimension, value, day, entered, exited)
            SELECT '{dimension}', value, day, SUM(entered), SUM(exited)
            FROM (
                SELECT {dimension} AS value, {entered_day} AS day, 1 AS entered, 0 AS exited FROM {table}
                UNION ALL
                SELECT {dimension}, {exited_day}, 0, 1 FROM {table} WHERE exited_at IS NOT NULL
            ) AS changes
            GROUP BY value, day
            """  # noqa: S608 - names from the constant above
        )


def recount_band_months(conn: Connection) -> None:
    """Count each row of the score history in its band, in the month it began and, once ended, in the month of
    max(beginning, end), as projections.running_counts.count_band does."""
    dialect = conn.dialect.name
    band = band_of(literal_column("value")).compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
    began, ended = month_start("at", dialect), month_start(later("at", "valid_to", dialect), dialect)
    conn.exec_driver_sql("DELETE FROM rm_band_months")
    conn.exec_driver_sql(
        f"""
        INSERT INTO rm_band_months (band, month, entered, exited)
        SELECT band, month, SUM(entered), SUM(exited)
        FROM (
            SELECT {band} AS band, {began} AS month, 1 AS entered, 0 AS exited FROM rm_score_history
            UNION ALL
            SELECT {band}, {ended}, 0, 1 FROM rm_score_history WHERE valid_to IS NOT NULL
        ) AS changes
        GROUP BY band, month
        """  # noqa: S608 - built from the constants above
    )


def month_start(moment: str, dialect: str) -> str:
    """The first day of an instant's month, as a date."""
    if dialect == "postgresql":
        return f"CAST(date_trunc('month', {moment}) AS DATE)"
    return f"date({moment}, 'start of month')"


def later(first: str, second: str, dialect: str) -> str:
    """The later of two instants (the second may be NULL only where the rows are filtered on it)."""
    return f"GREATEST({first}, {second})" if dialect == "postgresql" else f"max({first}, {second})"


def uuid_text(column: str, dialect: str) -> str:
    """A UUID column as its canonical text (SQLAlchemy keeps UUIDs on SQLite as 32 hex digits)."""
    if dialect == "postgresql":
        return f"CAST({column} AS TEXT)"
    parts = [(1, 8), (9, 4), (13, 4), (17, 4), (21, 12)]
    return "lower(" + " || '-' || ".join(f"substr({column}, {start}, {length})" for start, length in parts) + ")"


def recount_score_groups(conn: Connection) -> None:
    """Count every scored innovation into its groups, as projections.running_counts.count_score does event by event."""
    dialect = conn.dialect.name
    hundredths = "CAST(round(i.mpi_value * 100) AS INTEGER)"
    groupings = {
        "country": ("rm_innovations i", "i.country", "i.country"),
        "theme": (
            "rm_innovations i JOIN rm_innovation_themes th ON th.innovation_id = i.id",
            "th.theme",
            "th.theme",
        ),
        "ecosystem": ("rm_innovations i", uuid_text("i.ecosystem_id", dialect), "i.ecosystem_acronym"),
        "organisation": ("rm_innovations i", uuid_text("i.organisation_id", dialect), "i.organisation_name"),
    }
    for table in ("rm_score_groups", "rm_score_buckets", "rm_score_values"):
        conn.exec_driver_sql(f"DELETE FROM {table}")  # noqa: S608 - names from the constant above
    for group_by, (source, key, label) in groupings.items():
        scored = f"FROM {source} WHERE i.mpi_value IS NOT NULL"
        if group_by == "ecosystem":
            scored += " AND i.ecosystem_id IS NOT NULL"
        conn.exec_driver_sql(
            "INSERT INTO rm_score_groups (group_by, key, label, innovations, mpi_hundredths) "
            f"SELECT '{group_by}', {key}, min({label}), count(*), sum({hundredths}) {scored} GROUP BY {key}"
        )
        conn.exec_driver_sql(
            "INSERT INTO rm_score_buckets (group_by, key, bucket, innovations) "
            f"SELECT '{group_by}', {key}, {hundredths} / 100, count(*) {scored} GROUP BY {key}, {hundredths} / 100"
        )
        conn.exec_driver_sql(
            "INSERT INTO rm_score_values (group_by, key, hundredths, innovations) "
            f"SELECT '{group_by}', {key}, {hundredths}, count(*) {scored} GROUP BY {key}, {hundredths}"
        )


def recount_group_months(conn: Connection) -> None:
    """Count each row of the score history into its groups' monthly changes, as
    projections.running_counts.count_score_months does event by event."""
    dialect = conn.dialect.name
    began, ended = month_start("sh.at", dialect), month_start(later("sh.at", "sh.valid_to", dialect), dialect)
    hundredths = "CAST(round(sh.value * 100) AS INTEGER)"
    scored = "rm_score_history sh JOIN rm_innovations i ON i.id = sh.innovation_id"
    groupings = {
        "country": (scored, "i.country"),
        "theme": (f"{scored} JOIN rm_innovation_themes th ON th.innovation_id = i.id", "th.theme"),
        "ecosystem": (f"{scored} AND i.ecosystem_id IS NOT NULL", uuid_text("i.ecosystem_id", dialect)),
        "organisation": (scored, uuid_text("i.organisation_id", dialect)),
    }
    conn.exec_driver_sql("DELETE FROM rm_group_months")
    for group_by, (source, key) in groupings.items():
        conn.exec_driver_sql(
            f"""
            INSERT INTO rm_group_months
                (group_by, key, month, entered, entered_hundredths, exited, exited_hundredths)
            SELECT '{group_by}', key, month, SUM(n_in), SUM(h_in), SUM(n_out), SUM(h_out)
            FROM (
                SELECT {key} AS key, {began} AS month, 1 AS n_in, {hundredths} AS h_in, 0 AS n_out, 0 AS h_out
                FROM {source}
                UNION ALL
                SELECT {key}, {ended}, 0, 0, 1, {hundredths} FROM {source} WHERE sh.valid_to IS NOT NULL
            ) AS changes
            GROUP BY key, month
            """  # noqa: S608 - built from the constants above
        )
