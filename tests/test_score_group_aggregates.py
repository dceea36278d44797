"""Score groups come from running counts: they must equal the plain computation (count, mean, median) on any data."""

from __future__ import annotations

import random
import statistics
import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, insert, select

from projections import tables as t
from projections.counts import recount_score_groups
from projections.queries.analytics import GROUPS, score_groups
from projections.read_model import ReadModel
from projections.rows import Rows
from projections.running_counts import recount_score
from tests.readmodel import Clock
from tests.world import FULL_SCORES, build_world
from tracker.actors import Actor
from tracker.errors import DomainError

NOW = datetime(2026, 1, 1)
COUNTS = (t.score_groups, t.score_buckets, t.score_values)
ORGANISATIONS = [(uuid.UUID(int=n + 1), f"Organisation {n}") for n in range(3)]
ECOSYSTEMS = [(None, None), (uuid.UUID(int=100), "ECO-A"), (uuid.UUID(int=101), "ECO-B")]
# A handful of values makes ties, equal middle pairs and medians half a hundredth apart common; any value may occur.
MPIS = st.one_of(
    st.sampled_from([0.0, 0.01, 0.02, 49.99, 50.0, 67.5, 68.75, 100.0]),
    st.integers(min_value=0, max_value=10_000).map(lambda hundredths: hundredths / 100),
)
THEMES = st.lists(st.sampled_from(["badges", "green skills", "mobility"]), unique=True, max_size=3)
INNOVATIONS = st.lists(
    st.fixed_dictionaries(
        {
            "country": st.sampled_from(["LT", "IT", "FI"]),
            "organisation": st.sampled_from(ORGANISATIONS),
            "ecosystem": st.sampled_from(ECOSYSTEMS),
            "themes": THEMES,
            # The consolidated MPI after each change (none: never scored), and the themes after each revision.
            "mpis": st.lists(MPIS, max_size=3),
            "revisions": st.lists(THEMES, max_size=2),
        }
    ),
    max_size=25,
)


def _innovation(drawn: dict[str, Any]) -> dict[str, Any]:
    organisation_id, organisation_name = drawn["organisation"]
    ecosystem_id, ecosystem_acronym = drawn["ecosystem"]
    return {
        "id": uuid.uuid4(),
        "title": "t",
        "summary": "s",
        "search_text": "t s",
        "themes": drawn["themes"],
        "target_groups": [],
        "organisation_id": organisation_id,
        "organisation_name": organisation_name,
        "country": drawn["country"],
        "ecosystem_id": ecosystem_id,
        "ecosystem_acronym": ecosystem_acronym,
        "stage": "identification",
        "status": "active",
        "mpi_value": None,
        "mpi_evaluators": 0,
        "evaluator_mpis": {},
        "pilots_count": 0,
        "evidence_count": 0,
        "assessments_count": 0,
        "adoptions_count": 0,
        "pilots": [],
        "evidence": [],
        "adoptions": [],
        "stage_seq": 1,
        "stage_entered_at": NOW,
        "status_seq": 1,
        "score_seq": 0,
        "submitted_at": NOW,
        "updated_at": NOW,
        "version": 1,
        "position": 1,
    }


def _cents(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN))


def _memberships(row: dict[str, Any], group_by: str) -> list[tuple[str, str | None]]:
    if group_by == "country":
        return [(row["country"], row["country"])]
    if group_by == "theme":
        return [(theme, theme) for theme in row["themes"]]
    if group_by == "ecosystem":
        return [(str(row["ecosystem_id"]), row["ecosystem_acronym"])] if row["ecosystem_id"] else []
    return [(str(row["organisation_id"]), row["organisation_name"])]


def expected_groups(innovations: list[dict[str, Any]], group_by: str) -> list[dict[str, Any]]:
    """Count, mean and median of each group's MPIs, computed exactly and rounded to cents, halves to even."""
    values: dict[str, list[Decimal]] = defaultdict(list)
    labels: dict[str, set[Any]] = defaultdict(set)
    for row in innovations:
        if row["mpi_value"] is not None:
            for key, label in _memberships(row, group_by):
                values[key].append(Decimal(str(row["mpi_value"])))
                labels[key].add(label)
    return [
        {
            "key": key,
            "label": min(labels[key]),
            "innovations": len(group),
            "mean_mpi": _cents(statistics.mean(group)),
            "median_mpi": _cents(statistics.median(group)),
        }
        for key, group in sorted(values.items())
    ]


def count_rows(conn: Connection) -> dict[str, list[tuple[Any, ...]]]:
    return {
        table.name: [tuple(row) for row in conn.execute(select(table).order_by(*table.primary_key.columns))]
        for table in COUNTS
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=INNOVATIONS, data=st.data())
def test_counted_score_groups_equal_the_plain_computation_for_any_changes(
    read_model: ReadModel, drawn: list[dict[str, Any]], data: st.DataObject
) -> None:
    innovations = [_innovation(d) for d in drawn]
    changes = [(n, "mpi_value", mpi) for n, d in enumerate(drawn) for mpi in d["mpis"]]
    changes += [(n, "themes", themes) for n, d in enumerate(drawn) for themes in d["revisions"]]
    changes = data.draw(st.permutations(changes), label="order of changes")
    batch = data.draw(st.integers(min_value=1, max_value=6), label="changes per batch")
    with read_model.writer.connect() as conn, conn.begin() as transaction:
        # As the projection does: count each change before making it, flushing the counts once per batch.
        rows = Rows(conn)
        for done, (n, column, value) in enumerate(changes, start=1):
            recount_score(rows, innovations[n], **{column: value})
            innovations[n] = innovations[n] | {column: value}
            if done % batch == 0:
                rows.flush()
                rows = Rows(conn)
        rows.flush()
        if innovations:
            conn.execute(insert(t.innovations), innovations)
        themes = [{"innovation_id": row["id"], "theme": theme} for row in innovations for theme in row["themes"]]
        if themes:
            conn.execute(insert(t.innovation_themes), themes)

        for group_by in GROUPS:
            got = score_groups(conn, group_by=group_by)["items"]
            assert got == expected_groups(innovations, group_by), group_by
        # Counted down to zero, a row is gone: the counts hold exactly what counting them all again in SQL gives
        # (what a rebuild and the migration's backfill do).
        projected = count_rows(conn)
        recount_score_groups(conn)
        assert count_rows(conn) == projected
        transaction.rollback()


@pytest.mark.parametrize("seed", [1, 2])
def test_projected_score_groups_equal_the_plain_computation_and_the_history_when_commands_are_random(
    read_model: ReadModel, seed: int
) -> None:
    rng = random.Random(seed)
    read_model.batch_size = 5
    app = read_model.app
    app.clock = Clock(rng)
    world = build_world(app)
    owners = [world.owner, world.member, world.site]
    themes = ["badges", "green skills", "mobility", "dual learning"]
    ids: dict[Any, Actor] = {}
    for _ in range(150):
        roll = rng.random()
        try:
            if roll < 0.25 or not ids:
                owner = rng.choice(owners)
                provider = Actor(f"provider-{owner}", "provider", owner)
                submitted = app.submit_innovation(
                    actor=provider,
                    title="t",
                    summary="s",
                    themes=rng.sample(themes, rng.randint(1, 3)),
                    organisation_id=owner,
                    ecosystem_id=rng.choice([world.ecosystem, None]),
                )
                ids[submitted.aggregate_id] = provider
            elif roll < 0.85:
                scores = {k: rng.choice([None, 0, 1, 2, 3, 4, 4]) for k in FULL_SCORES} | {
                    k: rng.randint(0, 4) for k in ("relevance", "effectiveness", "transferability")
                }
                evaluator = world.evaluator(rng.randint(1, 3))
                world.assess(rng.choice(list(ids)), evaluator, scores=scores, rationale="r")
            else:
                iid = rng.choice(list(ids))
                app.revise_innovation(iid, {"themes": rng.sample(themes, rng.randint(1, 3))}, actor=ids[iid])
        except DomainError:
            pass
        if rng.random() < 0.2:
            read_model.catch_up()
    read_model.catch_up()

    with read_model.reader.connect() as conn:
        innovations = [dict(row) for row in conn.execute(select(t.innovations)).mappings()]
        themed = defaultdict(list)
        themes_table = t.innovation_themes
        for innovation_id, theme in conn.execute(select(themes_table.c.innovation_id, themes_table.c.theme)):
            themed[innovation_id].append(theme)
        innovations = [row | {"themes": themed[row["id"]]} for row in innovations]
        assert any(row["mpi_value"] is None for row in innovations), "every innovation was scored"
        assert sum(row["mpi_value"] is not None for row in innovations) > 10, "too few innovations were scored"
        later = app.clock.now + timedelta(days=1)
        for group_by in GROUPS:
            now = score_groups(conn, group_by=group_by)["items"]
            assert now == expected_groups(innovations, group_by), group_by
            # The score history, as of any later instant, agrees to the last digit.
            assert score_groups(conn, group_by=group_by, as_of=later)["items"] == now
