"""Read-model queries over known histories: portfolio, funnel and score groups as of three instants."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import inspect, select

from projections import tables as t
from projections.queries.analytics import funnel, mpi_distribution, score_groups, stage_durations
from projections.queries.audit import audit_trail
from projections.queries.directory import get_ecosystem, list_ecosystems, list_organisations
from projections.queries.innovations import (
    InnovationFilter,
    get_innovation,
    list_innovations,
)
from projections.queries.timeline import score_history, stage_intervals
from projections.read_model import ReadModel
from tests.world import FULL_SCORES, build_world


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


BEFORE, BETWEEN, AFTER = utc(2024, 1, 15), utc(2024, 3, 15), utc(2024, 7, 1)


@pytest.fixture
def history(read_model: ReadModel) -> dict[str, Any]:
    """A: submitted, scored 80, advanced, then scored 90 by two evaluators. B: scored 50, held, discontinued."""
    app = read_model.app
    now = [utc(2023, 12, 1)]
    app.clock = lambda: now[0]
    world = build_world(app)

    def at(moment: datetime) -> None:
        now[0] = moment

    at(utc(2024, 1, 1))
    a = world.submit(title="Open badges", themes=["badges"])
    b = world.submit(title="Green skills lab", themes=["green skills"], ecosystem_id=None)
    at(utc(2024, 2, 1))
    world.assess(a, world.evaluator(1), scores=FULL_SCORES, rationale="80")
    at(utc(2024, 3, 1))
    app.decide_gate(a, actor=world.manager, decision="advance", rationale="gate met")
    at(utc(2024, 4, 1))
    world.assess(b, world.evaluator(2), scores=dict.fromkeys(FULL_SCORES, 2), rationale="50")
    app.decide_gate(b, actor=world.manager, decision="hold", rationale="pause")
    at(utc(2024, 5, 1))
    world.assess(a, world.evaluator(2), scores=dict.fromkeys(FULL_SCORES, 4), rationale="100")
    at(utc(2024, 6, 1))
    app.decide_gate(b, actor=world.manager, decision="discontinue", rationale="stopped")
    read_model.catch_up()
    return {"a": a, "b": b, "world": world}


def test_portfolio_as_of_shows_stage_status_and_mpi_then(read_model: ReadModel, history: dict[str, Any]) -> None:
    a, b = history["a"], history["b"]

    def states(as_of: datetime | None, **filters: Any) -> dict[Any, tuple[Any, ...]]:
        with read_model.reader.connect() as conn:
            page = list_innovations(conn, InnovationFilter(as_of=as_of, **filters), sort="-mpi")
        return {i["id"]: (i["stage"], i["status"], i["mpi"]["value"] if i["mpi"] else None) for i in page.items}

    assert states(utc(2023, 12, 31)) == {}
    assert states(BEFORE) == {a: ("identification", "active", None), b: ("identification", "active", None)}
    assert states(BETWEEN) == {a: ("testing", "active", 80.0), b: ("identification", "active", None)}
    assert states(AFTER) == {a: ("testing", "active", 90.0), b: ("identification", "discontinued", 50.0)}
    assert states(None) == states(AFTER)
    assert states(BETWEEN, stage="testing") == {a: ("testing", "active", 80.0)}
    assert states(AFTER, min_mpi=85) == {a: ("testing", "active", 90.0)}
    assert states(AFTER, status="discontinued", theme="Green Skills") == {b: ("identification", "discontinued", 50.0)}


def test_funnel_as_of_counts_stages_and_statuses_then(read_model: ReadModel, history: dict[str, Any]) -> None:
    with read_model.reader.connect() as conn:
        before = funnel(conn, as_of=BEFORE)
        between = funnel(conn, as_of=BETWEEN)
        after = funnel(conn, as_of=AFTER)
        now = funnel(conn)
        in_ecosystem = funnel(conn, as_of=AFTER, ecosystem_id=history["world"].ecosystem)
    assert before["stages"] == {"identification": 2, "testing": 0, "development": 0, "assessment": 0, "mainstreamed": 0}
    assert before["statuses"] == {"active": 2, "on_hold": 0, "mainstreamed": 0, "discontinued": 0}
    assert (between["stages"]["identification"], between["stages"]["testing"]) == (1, 1)
    assert between["statuses"]["active"] == 2
    assert after["statuses"] == {"active": 1, "on_hold": 0, "mainstreamed": 0, "discontinued": 1}
    assert now["stages"] == after["stages"]
    assert now["statuses"] == after["statuses"]
    assert in_ecosystem["stages"]["testing"] == 1
    assert sum(in_ecosystem["stages"].values()) == 1


def test_score_groups_as_of_give_mean_and_median_then(read_model: ReadModel, history: dict[str, Any]) -> None:
    with read_model.reader.connect() as conn:
        before = score_groups(conn, group_by="theme", as_of=BEFORE)
        between = score_groups(conn, group_by="theme", as_of=BETWEEN)
        after = score_groups(conn, group_by="theme", as_of=AFTER)
        by_country = score_groups(conn, group_by="country")
        by_org = score_groups(conn, group_by="organisation", as_of=AFTER)
    assert before["items"] == []
    assert [(i["key"], i["innovations"], i["mean_mpi"]) for i in between["items"]] == [("badges", 1, 80.0)]
    assert [(i["key"], i["mean_mpi"], i["median_mpi"]) for i in after["items"]] == [
        ("badges", 90.0, 90.0),
        ("green skills", 50.0, 50.0),
    ]
    assert [(i["key"], i["innovations"], i["mean_mpi"], i["median_mpi"]) for i in by_country["items"]] == [
        ("LT", 2, 70.0, 70.0)
    ]
    assert by_org["items"][0]["label"] == "Kauno technologijos mokymo centras"


def test_score_history_and_stage_intervals_follow_the_changes(read_model: ReadModel, history: dict[str, Any]) -> None:
    with read_model.reader.connect() as conn:
        scores = score_history(conn, history["a"])
        stages = stage_intervals(conn, history["a"])
        durations = stage_durations(conn)
        detail = get_innovation(conn, history["a"])
    assert [(s["at"], s["value"], s["evaluators"], s["spread"]) for s in scores] == [
        (utc(2024, 2, 1), 80.0, 1, 0.0),
        (utc(2024, 5, 1), 90.0, 2, 20.0),
    ]
    assert stages == [
        {"stage": "identification", "entered_at": utc(2024, 1, 1), "exited_at": utc(2024, 3, 1)},
        {"stage": "testing", "entered_at": utc(2024, 3, 1), "exited_at": None},
    ]
    assert durations["stages"]["identification"] == {"count": 1, "median_days": 60.0, "p90_days": 60.0}
    assert durations["stages"]["testing"] == {"count": 0, "median_days": None, "p90_days": None}
    assert detail is not None
    assert (detail["mpi"], detail["version"], detail["assessments_count"]) == (
        {"value": 90.0, "evaluators": 2, "spread": 20.0},
        6,  # submitted, assigned, assessed, advanced, assigned, assessed
        2,
    )


def test_stage_durations_give_median_and_p90_over_completed_stays(read_model: ReadModel) -> None:
    app = read_model.app
    now = [utc(2024, 1, 1)]
    app.clock = lambda: now[0]
    world = build_world(app)
    for days in (10, 20, 30, 40, 100):
        now[0] = utc(2024, 1, 1)
        iid = world.submit()
        world.assess(iid, world.evaluator(1), scores=FULL_SCORES, rationale="ok")
        now[0] = utc(2024, 1, 1 + days) if days < 31 else utc(2024, 1 + days // 30, 1 + days % 30)
        app.decide_gate(iid, actor=world.manager, decision="advance", rationale="ok")
    read_model.catch_up()
    with read_model.reader.connect() as conn:
        result = stage_durations(conn)["stages"]["identification"]
    assert result["count"] == 5
    assert result["median_days"] == 30.0


def test_audit_filters_by_actor_type_aggregate_time_and_pages_by_position(
    read_model: ReadModel, history: dict[str, Any]
) -> None:
    with read_model.reader.connect() as conn:
        by_actor = audit_trail(conn, actor="evaluator-2")
        by_manager = audit_trail(conn, actor="manager-1")
        decisions = audit_trail(conn, event_type="PutOnHold")
        for_a = audit_trail(conn, aggregate_id=history["a"])
        spring = audit_trail(conn, since=utc(2024, 4, 1), until=utc(2024, 6, 1))
        first = audit_trail(conn, limit=3)
        second = audit_trail(conn, limit=3, after=first["next_after"])
    assert [i["type"] for i in by_actor["items"]] == ["AssessmentRecorded", "AssessmentRecorded"]
    assert [i["type"] for i in by_manager["items"]] == [
        "EvaluatorAssigned",
        "Advanced",
        "EvaluatorAssigned",
        "PutOnHold",
        "EvaluatorAssigned",
        "Discontinued",
    ]
    assert by_actor["next_after"] is None
    assert [i["aggregate_id"] for i in decisions["items"]] == [history["b"]]
    assert [i["version"] for i in for_a["items"]] == [1, 2, 3, 4, 5, 6]
    assert [i["type"] for i in spring["items"]] == [
        "EvaluatorAssigned",
        "AssessmentRecorded",
        "PutOnHold",
        "EvaluatorAssigned",
        "AssessmentRecorded",
    ]
    assert [i["position"] for i in first["items"]] == [1, 2, 3]
    assert [i["position"] for i in second["items"]] == [4, 5, 6]
    assert first["items"][0]["actor"] == {"id": "admin-1", "role": "admin"}


def test_directory_lists_filter_by_country_kind_and_text(read_model: ReadModel, history: dict[str, Any]) -> None:
    world = history["world"]
    with read_model.reader.connect() as conn:
        greek = list_organisations(conn, country="GR")
        research = list_organisations(conn, kind="research")
        named = list_organisations(conn, q="  marconi ")
        italian_ecosystems = list_ecosystems(conn, country="IT")
        none_in_france = list_ecosystems(conn, country="FR")
        eco = get_ecosystem(conn, world.ecosystem)
    assert [o["name"] for o in greek.items] == ["Cedefop Evaluation Unit"]
    assert research.total == 2
    assert [o["name"] for o in named.items] == ["Istituto Tecnico Marconi"]
    assert [(e["acronym"], e["member_count"]) for e in italian_ecosystems.items] == [("VISION", 2)]
    assert none_in_france.total == 0
    assert eco is not None
    assert [(m["role"], m["country"]) for m in eco["members"]] == [("coordinator", "LT"), ("partner", "IT")]


def test_text_search_treats_like_wildcards_literally(read_model: ReadModel) -> None:
    world = build_world(read_model.app)
    world.submit(title="100% open badges")
    world.submit(title="Badges for all")
    read_model.catch_up()
    with read_model.reader.connect() as conn:
        assert [i["title"] for i in list_innovations(conn, InnovationFilter(q="100%")).items] == ["100% open badges"]
        assert list_innovations(conn, InnovationFilter(q="%")).total == 1
        assert list_innovations(conn, InnovationFilter(q="BADGES")).total == 2


def test_every_listed_filter_has_an_index(read_model: ReadModel) -> None:
    inspector = inspect(read_model.reader)
    leading = {
        table: {next(iter(ix["column_names"])) for ix in inspector.get_indexes(table)}
        | {inspector.get_pk_constraint(table)["constrained_columns"][0]}
        for table in (
            t.innovations.name,
            t.innovation_themes.name,
            t.audit.name,
            t.organisations.name,
            t.ecosystem_members.name,
            t.stage_intervals.name,
            t.score_history.name,
        )
    }
    assert {
        "stage",
        "status",
        "country",
        "organisation_id",
        "ecosystem_id",
        "mpi_value",
        "submitted_at",
        "title",
    } <= leading[t.innovations.name]
    assert "theme" in leading[t.innovation_themes.name]
    assert {"actor_id", "aggregate_id", "event_type", "at", "position"} <= leading[t.audit.name]
    assert {"country", "kind", "name_key"} <= leading[t.organisations.name]
    assert {"country", "organisation_id", "ecosystem_id"} <= leading[t.ecosystem_members.name]
    assert {"entered_at", "innovation_id"} <= leading[t.stage_intervals.name]
    assert {"at", "innovation_id"} <= leading[t.score_history.name]


def test_list_pages_sorted_by_mpi_keep_ties_by_id_and_unscored_last_when_filtered_by_stage_and_country(
    read_model: ReadModel,
) -> None:
    world = build_world(read_model.app)
    app = read_model.app
    ids = [world.submit(title=f"Innovation {n}") for n in range(13)]
    low = dict.fromkeys(FULL_SCORES, 1)
    for n, innovation_id in enumerate(ids):
        if n % 4 == 3:
            continue  # unscored: no MPI
        world.assess(innovation_id, world.evaluator(1), scores=FULL_SCORES if n % 2 else low, rationale=".")
    read_model.catch_up()
    country = app.get_organisation(world.owner).country
    with read_model.reader.connect() as conn:
        mpis = {row.id: row.mpi_value for row in conn.execute(select(t.innovations.c.id, t.innovations.c.mpi_value))}
        for sort, descending in (("-mpi", True), ("mpi", False)):
            scored = sorted(
                (i for i in ids if mpis[i] is not None), key=lambda i: (-mpis[i] if descending else mpis[i], str(i))
            )
            expected = scored + sorted((i for i in ids if mpis[i] is None), key=str)
            pages = [
                list_innovations(
                    conn, InnovationFilter(stage="identification", country=country), sort=sort, page=page, page_size=4
                )
                for page in (1, 2, 3, 4)
            ]
            assert [item["id"] for p in pages for item in p.items] == expected
            assert {p.total for p in pages} == {13}


def test_the_mpi_distribution_puts_each_mpi_in_its_band_of_ten(read_model: ReadModel) -> None:
    """Band edges on both stores (a cast would round on PostgreSQL): 9.99 in 0–10, 10 in 10–20, 95.5 and 99.99 in
    90–100 with 100 itself; an innovation without an MPI counts nowhere. As of an instant, from the score history."""
    app = read_model.app
    now = [utc(2024, 1, 1)]
    app.clock = lambda: now[0]
    world = build_world(app)
    ids = [world.submit(title=f"Idea {n}") for n in range(6)]
    for iid in ids[:5]:
        world.assess(iid, world.evaluator(1), scores=FULL_SCORES, rationale="ok")
    read_model.catch_up()
    with read_model.writer.begin() as conn:
        for iid, value in zip(ids, (9.99, 10.0, 95.5, 99.99, 100.0), strict=False):
            conn.execute(t.innovations.update().where(t.innovations.c.id == iid).values(mpi_value=value))
    with read_model.reader.connect() as conn:
        bands = {b["start"]: b["innovations"] for b in mpi_distribution(conn)["bands"]}
        assert bands == dict.fromkeys(range(0, 100, 10), 0) | {0: 1, 10: 1, 90: 3}
        before = mpi_distribution(conn, as_of=utc(2023, 12, 31))["bands"]
        assert sum(b["innovations"] for b in before) == 0
        then = mpi_distribution(conn, as_of=utc(2024, 6, 1))["bands"]
        assert sum(b["innovations"] for b in then) == 5  # the score history's values, not the rows changed above


def test_the_largest_score_groups_and_the_mean_of_the_rest(read_model: ReadModel) -> None:
    """With `top`, the largest groups by size (ties by key), and the rest's mean taken exactly over their values."""
    world = build_world(read_model.app)
    scores = [FULL_SCORES, FULL_SCORES | {"openness": 0}, FULL_SCORES | {"relevance": 1, "partnership": 1}]
    ids = []
    for themes, scored in zip((["alpha"], ["beta"], ["beta", "gamma"]), scores, strict=True):
        iid = world.submit(themes=themes)
        world.assess(iid, world.evaluator(1), scores=scored, rationale="ok")
        ids.append(iid)
    read_model.catch_up()
    with read_model.reader.connect() as conn:
        mpi = {r.id: r.mpi_value for r in conn.execute(select(t.innovations.c.id, t.innovations.c.mpi_value))}
        found = score_groups(conn, group_by="theme", top=1)
        everything = score_groups(conn, group_by="theme")
    assert found["items"] == everything["items"], "top changes no group"
    assert found["largest"] == ["beta"]
    rest = round(mpi[ids[0]] * 100) + round(mpi[ids[2]] * 100)  # alpha's and gamma's one innovation each
    assert found["others"] == {"groups": 2, "innovations": 2, "mean_mpi": round(rest / 2) / 100}
    assert mpi[ids[0]] != mpi[ids[2]], "the rest's values differ, so their mean is a real mean"
    with read_model.reader.connect() as conn:
        assert score_groups(conn, group_by="theme", top=3)["others"] is None
