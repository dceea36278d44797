"""Reads at scale: list, detail, as-of funnel, scores by country, audit filter, the dashboard's facets (now and as of
an instant) and its seven-year funnel series, and CSV export, over HTTP and in SQL."""

from __future__ import annotations

import http.client
import random
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote, urlsplit
from uuid import UUID

from sqlalchemy import text

from bench.stack import Stack
from projections.queries.analytics import funnel, mpi_distribution, score_groups
from projections.queries.audit import audit_trail
from projections.queries.facets import facets
from projections.queries.innovations import InnovationFilter, get_innovation, iter_innovations, list_innovations
from projections.queries.series import funnel_series, score_series
from projections.read_model import ReadModel

QUERIES = (
    "list",
    "detail",
    "as-of funnel",
    "scores by country",
    "audit filter",
    "facets",
    "facets as of",
    "funnel series",
)
# The portfolio's seven years, month by month (84 points).
SERIES = {"from": "2019-01-01", "to": "2025-12-31"}


def _month(rng: random.Random) -> datetime:
    return datetime(rng.randint(2019, 2025), rng.randint(1, 12), 1, tzinfo=UTC)


def _timed(fn: Callable[[], Any], repeats: int) -> list[float]:
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def csv_filter(read_model: ReadModel, wanted: int = 10_000) -> tuple[str, dict[str, str], int]:
    """The single filter (stage, country, theme or ecosystem) whose result is closest to `wanted` rows."""
    candidates: list[tuple[str, dict[str, str], int]] = []
    with read_model.reader.connect() as conn:
        for column in ("stage", "country", "ecosystem_id"):
            for value, count in conn.execute(text(f"SELECT {column}, count(*) FROM rm_innovations GROUP BY {column}")):  # noqa: S608
                candidates.append((f"{column}={value}", {column: str(value)}, count))
        for value, count in conn.execute(text("SELECT theme, count(*) FROM rm_innovation_themes GROUP BY theme")):
            candidates.append((f"theme={value}", {"theme": value}, count))
    return min(candidates, key=lambda c: abs(c[2] - wanted))


def sample_ids(read_model: ReadModel, n: int = 200) -> list[Any]:
    with read_model.reader.connect() as conn:
        return [UUID(str(row[0])) for row in conn.execute(text(f"SELECT id FROM rm_innovations LIMIT {n}"))]  # noqa: S608


def http_reads(stack: Stack, ids: list[Any], repeats: int, csv_query: str, actors: list[str]) -> dict[str, list[float]]:
    """Each read by an analyst; the audit filter names one of `actors` (the portfolio's evaluators) at random."""
    parts = urlsplit(stack.base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    headers = {"Authorization": f"Bearer {stack.analyst_key}"}
    rng = random.Random(3)

    def get(path: str, accept: str = "application/json") -> bytes:
        conn.request("GET", path, headers=headers | {"Accept": accept})
        response = conn.getresponse()
        body = response.read()
        assert response.status == 200, (path, response.status, body[:300])
        return body

    countries = ["LT", "IT", "NL", "FI", "DE", "FR"]
    stages = ["identification", "testing", "development", "assessment"]

    def list_path() -> str:
        filters = f"stage={rng.choice(stages)}&country={rng.choice(countries)}"
        return f"/api/v1/innovations?{filters}&sort=-mpi&page={rng.randint(1, 5)}"

    return {
        "list": _timed(lambda: get(list_path()), repeats),
        "detail": _timed(lambda: get(f"/api/v1/innovations/{rng.choice(ids)}"), repeats),
        "as-of funnel": _timed(
            lambda: get(f"/api/v1/analytics/funnel?as_of={rng.randint(2019, 2025)}-0{rng.randint(1, 9)}-01T00:00:00Z"),
            repeats,
        ),
        "scores by country": _timed(lambda: get("/api/v1/analytics/scores?group_by=country"), repeats),
        "audit filter": _timed(lambda: get(f"/api/v1/audit?actor={rng.choice(actors)}&limit=100"), repeats),
        "facets": _timed(lambda: get("/api/v1/analytics/facets"), repeats),
        "facets as of": _timed(
            lambda: get(f"/api/v1/analytics/facets?as_of={quote(_month(rng).isoformat())}"), repeats
        ),
        "funnel series": _timed(
            lambda: get(f"/api/v1/analytics/funnel-series?from={SERIES['from']}&to={SERIES['to']}"), repeats
        ),
        "score series": _timed(
            lambda: get(
                f"/api/v1/analytics/score-series?group_by=organisation&from={SERIES['from']}&to={SERIES['to']}"
            ),
            repeats,
        ),
        "list as of": _timed(
            lambda: get(f"/api/v1/innovations?sort=-mpi&page_size=50&as_of={quote(_month(rng).isoformat())}"),
            repeats,
        ),
        # Filtered, the same list takes the general query: every innovation of the stage then, joined and sorted.
        "list as of one stage": _timed(
            lambda: get(
                f"/api/v1/innovations?stage={rng.choice(stages)}&sort=-mpi&page_size=50"
                f"&as_of={quote(_month(rng).isoformat())}"
            ),
            repeats,
        ),
        "distribution as of": _timed(
            lambda: get(f"/api/v1/analytics/mpi-distribution?as_of={quote(_month(rng).isoformat())}"), repeats
        ),
        "csv 10,000 rows": _timed(
            lambda: get(f"/api/v1/innovations?{quote(csv_query, safe='=')}", accept="text/csv"), max(3, repeats // 20)
        ),
    }


def sql_reads(
    read_model: ReadModel, ids: list[Any], repeats: int, csv_filters: dict[str, Any], actors: list[str]
) -> dict[str, list[float]]:
    rng = random.Random(3)
    countries = ["LT", "IT", "NL", "FI", "DE", "FR"]
    stages = ["identification", "testing", "development", "assessment"]
    typed_filters = {k: UUID(v) if k.endswith("_id") else v for k, v in csv_filters.items()}

    def run(fn: Callable[[Any], Any]) -> Callable[[], Any]:
        def call() -> Any:
            with read_model.reader.connect() as conn:
                return fn(conn)

        return call

    return {
        "list": _timed(
            run(
                lambda c: list_innovations(
                    c,
                    InnovationFilter(stage=rng.choice(stages), country=rng.choice(countries)),
                    sort="-mpi",
                    page=rng.randint(1, 5),
                )
            ),
            repeats,
        ),
        "detail": _timed(run(lambda c: get_innovation(c, rng.choice(ids))), repeats),
        "as-of funnel": _timed(
            run(lambda c: funnel(c, as_of=datetime(rng.randint(2019, 2025), rng.randint(1, 9), 1, tzinfo=UTC))),
            repeats,
        ),
        "scores by country": _timed(run(lambda c: score_groups(c, group_by="country")), repeats),
        "audit filter": _timed(run(lambda c: audit_trail(c, actor=rng.choice(actors), limit=100)), repeats),
        "facets": _timed(run(lambda c: facets(c)), repeats),
        "facets as of": _timed(run(lambda c: facets(c, as_of=_month(rng))), repeats),
        "funnel series": _timed(
            run(
                lambda c: funnel_series(
                    c, start=date.fromisoformat(SERIES["from"]), end=date.fromisoformat(SERIES["to"])
                )
            ),
            repeats,
        ),
        "score series": _timed(
            run(
                lambda c: score_series(
                    c,
                    group_by="organisation",
                    start=date.fromisoformat(SERIES["from"]),
                    end=date.fromisoformat(SERIES["to"]),
                )
            ),
            repeats,
        ),
        "list as of": _timed(
            run(lambda c: list_innovations(c, InnovationFilter(as_of=_month(rng)), sort="-mpi", page_size=50)),
            repeats,
        ),
        "list as of one stage": _timed(
            run(
                lambda c: list_innovations(
                    c, InnovationFilter(as_of=_month(rng), stage=rng.choice(stages)), sort="-mpi", page_size=50
                )
            ),
            repeats,
        ),
        "distribution as of": _timed(run(lambda c: mpi_distribution(c, as_of=_month(rng))), repeats),
        "csv 10,000 rows": _timed(
            run(lambda c: sum(1 for _ in iter_innovations(c, InnovationFilter(**typed_filters)))),
            max(3, repeats // 20),
        ),
    }
