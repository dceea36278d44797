"""How each event changes the read model. Three projections, applied in lockstep per batch."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from projections import grants
from projections import tables as t
from projections.rows import Rows
from projections.running_counts import (
    count_band,
    count_day,
    count_facets,
    count_score_months,
    move_score_history,
    recount_score,
    score_groups_of,
)
from tracker import event_types, items
from tracker.ecosystem import ECOSYSTEM_DETAILS, Ecosystem
from tracker.innovation import Innovation
from tracker.organisation import Organisation
from tracker.rubric import consolidate
from tracker.validation import normalise_name

Handler = Callable[[Rows, Any, int], None]


def naive_utc(moment: datetime) -> datetime:
    """Read-model times are naive UTC (comparable alike on SQLite and PostgreSQL)."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def no_earlier(e: Any, floor: datetime) -> datetime:
    """When an event takes effect in the read model's intervals (the stages, the statuses, the score history): its
    own time, or `floor` (when the interval it ends began) if that is later.

    An innovation's events are ordered by version, but each is stamped by the clock of the process that stored it,
    which may have stepped back since the event before (a clock set back, another host). Taking the time as it is
    would end an interval before it began and leave two open at once, so that a list as of an instant held the
    innovation twice; clamped, the intervals of each kind follow one another, one open at any instant after the
    submission. The event keeps its own time (the audit trail and the assessments show it)."""
    return max(naive_utc(e.timestamp), floor)


def to_json(value: Any) -> Any:
    """Event values as JSON: UUIDs and dates become strings, times end in Z."""
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return naive_utc(value).isoformat(timespec="microseconds") + "Z"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    return value


def search_text(*parts: Any) -> str:
    return " ".join(normalise_name(str(p)) for p in parts if p)


# ---- directory: organisations, ecosystems, members ---------------------------------------


def organisation_registered(rows: Rows, e: Organisation.Registered, position: int) -> None:
    rows.insert(
        t.organisations,
        {
            "id": e.originator_id,
            "name": e.name,
            "name_key": normalise_name(e.name),
            "country": e.country,
            "kind": e.kind,
            "pic": e.pic,
            "oid": e.oid,
            "website": e.website,
            "registered_at": naive_utc(e.timestamp),
            "version": e.originator_version,
        },
    )


def ecosystem_registered(rows: Rows, e: Ecosystem.Registered, position: int) -> None:
    at = naive_utc(e.timestamp)
    rows.insert(
        t.ecosystems,
        {
            "id": e.originator_id,
            **{name: getattr(e, name) for name in ECOSYSTEM_DETAILS},
            "search_text": search_text(e.acronym, e.title, e.project_identifier),
            "registered_at": at,
            "updated_at": at,
            "version": e.originator_version,
        },
    )


def member_joined(rows: Rows, e: Ecosystem.MemberJoined, position: int) -> None:
    org = rows.constant(t.organisations, e.organisation_id, ("name", "country"))
    rows.insert(
        t.ecosystem_members,
        {
            "ecosystem_id": e.originator_id,
            "organisation_id": e.organisation_id,
            "role": e.role,
            "country": org["country"] if org else "",
            "joined_at": naive_utc(e.timestamp),
        },
    )
    rows.update(t.ecosystems, (e.originator_id,), version=e.originator_version, updated_at=naive_utc(e.timestamp))


DIRECTORY: dict[type, Handler] = {
    Organisation.Registered: organisation_registered,
    Ecosystem.Registered: ecosystem_registered,
    Ecosystem.MemberJoined: member_joined,
}


# ---- portfolio: innovations, themes, intervals, scores, assessments ----------------------


def submitted(rows: Rows, e: Innovation.Submitted, position: int) -> None:
    at = naive_utc(e.timestamp)
    org = rows.constant(t.organisations, e.organisation_id, ("name", "country")) or {"name": "", "country": ""}
    eco = rows.constant(t.ecosystems, e.ecosystem_id, ("acronym",)) if e.ecosystem_id else None
    row = {
        "id": e.originator_id,
        "title": e.title,
        "summary": e.summary,
        "search_text": search_text(e.title, e.summary, *e.themes),
        "themes": list(e.themes),
        "target_groups": list(e.target_groups),
        "organisation_id": e.organisation_id,
        "organisation_name": org["name"],
        "country": org["country"],
        "ecosystem_id": e.ecosystem_id,
        "ecosystem_acronym": eco["acronym"] if eco else None,
        "readiness_level": e.readiness_level,
        "stage": "identification",
        "status": "active",
        "mpi_value": None,
        "mpi_evaluators": 0,
        "mpi_spread": None,
        "evaluator_mpis": {},
        "pilots_count": 0,
        "evidence_count": 0,
        "assessments_count": 0,
        "adoptions_count": 0,
        "pilots": [],
        "evidence": [],
        "adoptions": [],
        "stage_seq": 1,
        "stage_entered_at": at,
        "status_seq": 1,
        "score_seq": 0,
        "submitted_at": at,
        "updated_at": at,
        "version": e.originator_version,
        "position": position,
    }
    rows.insert(t.innovations, row)
    count_facets(rows, row, 1)
    for theme in e.themes:
        rows.insert(t.innovation_themes, {"innovation_id": e.originator_id, "theme": theme, "submitted_at": at})
    rows.insert(t.stage_intervals, _interval(e.originator_id, 1, "stage", "identification", at))
    rows.insert(t.status_intervals, _interval(e.originator_id, 1, "status", "active", at))
    count_day(rows, "stage", "identification", at, "entered")
    count_day(rows, "status", "active", at, "entered")


def _interval(innovation_id: UUID, seq: int, column: str, value: str, at: datetime) -> dict[str, Any]:
    row = {"innovation_id": innovation_id, "seq": seq, column: value, "entered_at": at, "exited_at": None}
    if column == "stage":
        row["duration_days"] = None
    return row


def _touch(rows: Rows, e: Any, position: int, **values: Any) -> dict[str, Any]:
    """Apply `values` plus the version stamp to the innovation's summary row; return the row."""
    rows.update(
        t.innovations,
        (e.originator_id,),
        version=e.originator_version,
        updated_at=naive_utc(e.timestamp),
        position=position,
        **values,
    )
    row = rows.get(t.innovations, e.originator_id)
    assert row is not None, f"innovation {e.originator_id} is missing from the read model"
    return row


def details_revised(rows: Rows, e: Innovation.DetailsRevised, position: int) -> None:
    row = rows.get(t.innovations, e.originator_id)
    assert row is not None
    changes = dict(e.changes)
    if "themes" in changes:
        recount_score(rows, row, themes=changes["themes"])
        move_score_history(rows, row, changes["themes"])
        count_facets(rows, row, -1)
        count_facets(rows, row | {"themes": changes["themes"]}, 1)
    merged = {k: changes.get(k, row[k]) for k in ("title", "summary", "themes")}
    _touch(rows, e, position, **changes, search_text=search_text(merged["title"], merged["summary"], *merged["themes"]))
    if "themes" in changes:
        rows.delete_where(t.innovation_themes, innovation_id=e.originator_id)
        for theme in changes["themes"]:
            theme_row = {"innovation_id": e.originator_id, "theme": theme, "submitted_at": row["submitted_at"]}
            rows.insert(t.innovation_themes, theme_row)


def pilot_started(rows: Rows, e: Innovation.PilotStarted, position: int) -> None:
    row = rows.get(t.innovations, e.originator_id)
    assert row is not None
    pilot = to_json(items.pilot(e, row["stage"]))
    _touch(rows, e, position, pilots=[*row["pilots"], pilot], pilots_count=row["pilots_count"] + 1)


def pilot_outcome_recorded(rows: Rows, e: Innovation.PilotOutcomeRecorded, position: int) -> None:
    row = rows.get(t.innovations, e.originator_id)
    assert row is not None
    outcome = to_json(items.outcome(e))
    pilots = [p | {"outcome": outcome} if p["pilot_id"] == str(e.pilot_id) else p for p in row["pilots"]]
    _touch(rows, e, position, pilots=pilots)


def evidence_added(rows: Rows, e: Innovation.EvidenceAdded, position: int) -> None:
    row = rows.get(t.innovations, e.originator_id)
    assert row is not None
    item = to_json(items.evidence(e, row["stage"]))
    _touch(rows, e, position, evidence=[*row["evidence"], item], evidence_count=row["evidence_count"] + 1)


def adoption_recorded(rows: Rows, e: Innovation.AdoptionRecorded, position: int) -> None:
    row = rows.get(t.innovations, e.originator_id)
    assert row is not None
    item = to_json(items.adoption(e))
    _touch(rows, e, position, adoptions=[*row["adoptions"], item], adoptions_count=row["adoptions_count"] + 1)


def assessment_recorded(rows: Rows, e: Innovation.AssessmentRecorded, position: int) -> None:
    row = rows.get(t.innovations, e.originator_id)
    assert row is not None
    at = naive_utc(e.timestamp)
    assessment = items.assessment(e, row["stage"], row["stage_seq"])
    # rm_assessments keeps the stage; the round is its assignment's `seq` (rm_assignments).
    del assessment["stage_seq"]
    mpi = assessment["mpi"]
    rows.insert(
        t.assessments,
        {"id": assessment.pop("assessment_id"), "innovation_id": e.originator_id, **assessment}
        | {"recorded_at": at, "position": position},
    )
    assignment = (e.originator_id, e.actor_id, row["stage_seq"])
    found = rows.get(t.assignments, *assignment)
    grants.assessed(rows, row, e.actor_id, was_assigned=found is not None)
    evaluator_mpis = row["evaluator_mpis"] | {e.actor_id: mpi}
    score = consolidate(evaluator_mpis.values())
    assert score is not None
    values: dict[str, Any] = {"evaluator_mpis": evaluator_mpis, "assessments_count": row["assessments_count"] + 1}
    unchanged = (row["mpi_value"], row["mpi_evaluators"], row["mpi_spread"]) == (
        score.value,
        score.evaluators,
        score.spread,
    )
    if not unchanged:
        seq = row["score_seq"] + 1
        if row["score_seq"]:
            held = rows.get(t.score_history, e.originator_id, row["score_seq"])
            assert held is not None
            began = no_earlier(e, held["at"])
            if not rows.counts_deferred:
                count_band(rows, held["value"], began, "exited")
                groups = score_groups_of(row)
                count_score_months(rows, groups, held["value"], held["at"], None, -1)
                count_score_months(rows, groups, held["value"], held["at"], began, 1)
            rows.update(t.score_history, (e.originator_id, row["score_seq"]), valid_to=began)
        else:
            began = no_earlier(e, row["submitted_at"])
        rows.insert(
            t.score_history,
            {
                "innovation_id": e.originator_id,
                "seq": seq,
                "at": began,
                "valid_to": None,
                "value": score.value,
                "evaluators": score.evaluators,
                "spread": score.spread,
            },
        )
        count_band(rows, score.value, began, "entered")
        count_score_months(rows, score_groups_of(row), score.value, began, None, 1)
        recount_score(rows, row, mpi_value=score.value)
        values.update(mpi_value=score.value, mpi_evaluators=score.evaluators, mpi_spread=score.spread, score_seq=seq)
    _touch(rows, e, position, **values)
    if found is not None and found["assessed_at"] is None:
        rows.update(t.assignments, assignment, assessed_at=at)


def evaluator_assigned(rows: Rows, e: Innovation.EvaluatorAssigned, position: int) -> None:
    row = _touch(rows, e, position)
    rows.insert(
        t.assignments,
        {
            "innovation_id": e.originator_id,
            "evaluator_id": e.evaluator_id,
            "seq": row["stage_seq"],
            "stage": e.stage,
            "assigned_at": naive_utc(e.timestamp),
            "due_on": e.due_on,
            "assessed_at": None,
            "assigned_by": e.actor_id,
        },
    )
    grants.assigned(rows, row, e.evaluator_id)


def evaluator_unassigned(rows: Rows, e: Innovation.EvaluatorUnassigned, position: int) -> None:
    row = _touch(rows, e, position)
    rows.delete_where(t.assignments, innovation_id=e.originator_id, evaluator_id=e.evaluator_id, seq=row["stage_seq"])
    grants.unassigned(rows, row, e.evaluator_id)


def note_added(rows: Rows, e: Innovation.NoteAdded, position: int) -> None:
    _touch(rows, e, position)
    note = items.note(e)
    rows.insert(
        t.notes,
        {
            "id": note.pop("note_id"),
            "innovation_id": e.originator_id,
            **note,
            "written_at": naive_utc(e.timestamp),
            "position": position,
        },
    )


def _change_stage(rows: Rows, e: Any, position: int, stage: str) -> dict[str, Any]:
    row = rows.get(t.innovations, e.originator_id)
    assert row is not None
    at = no_earlier(e, row["stage_entered_at"])
    duration = (at - row["stage_entered_at"]).total_seconds() / 86400
    rows.update(t.stage_intervals, (e.originator_id, row["stage_seq"]), exited_at=at, duration_days=duration)
    seq = row["stage_seq"] + 1
    rows.insert(t.stage_intervals, _interval(e.originator_id, seq, "stage", stage, at))
    count_day(rows, "stage", row["stage"], at, "exited")
    count_day(rows, "stage", stage, at, "entered")
    grants.stage_changed(rows, row, stage)
    return _touch(rows, e, position, stage=stage, stage_seq=seq, stage_entered_at=at)


def _change_status(rows: Rows, e: Any, position: int, status: str) -> None:
    row = rows.get(t.innovations, e.originator_id)
    assert row is not None
    current = rows.get(t.status_intervals, e.originator_id, row["status_seq"])
    assert current is not None
    at = no_earlier(e, current["entered_at"])
    rows.update(t.status_intervals, (e.originator_id, row["status_seq"]), exited_at=at)
    seq = row["status_seq"] + 1
    rows.insert(t.status_intervals, _interval(e.originator_id, seq, "status", status, at))
    count_day(rows, "status", row["status"], at, "exited")
    count_day(rows, "status", status, at, "entered")
    _touch(rows, e, position, status=status, status_seq=seq)


def advanced(rows: Rows, e: Innovation.Advanced, position: int) -> None:
    _change_stage(rows, e, position, e.to_stage)
    if e.to_stage == "mainstreamed":
        _change_status(rows, e, position, "mainstreamed")


def recycled(rows: Rows, e: Innovation.Recycled, position: int) -> None:
    _change_stage(rows, e, position, e.to_stage)


def status_changer(status: str) -> Handler:
    def handler(rows: Rows, e: Any, position: int) -> None:
        _change_status(rows, e, position, status)

    return handler


PORTFOLIO: dict[type, Handler] = {
    Innovation.Submitted: submitted,
    Innovation.DetailsRevised: details_revised,
    Innovation.PilotStarted: pilot_started,
    Innovation.PilotOutcomeRecorded: pilot_outcome_recorded,
    Innovation.EvidenceAdded: evidence_added,
    Innovation.AdoptionRecorded: adoption_recorded,
    Innovation.AssessmentRecorded: assessment_recorded,
    Innovation.EvaluatorAssigned: evaluator_assigned,
    Innovation.EvaluatorUnassigned: evaluator_unassigned,
    Innovation.NoteAdded: note_added,
    Innovation.Advanced: advanced,
    Innovation.Recycled: recycled,
    Innovation.PutOnHold: status_changer("on_hold"),
    Innovation.Resumed: status_changer("active"),
    Innovation.Discontinued: status_changer("discontinued"),
}


# ---- audit: one row per event ------------------------------------------------------------


def audited(rows: Rows, e: Any, position: int) -> None:
    aggregate_type, event_type = event_types.indexed(type(e))
    rows.insert(
        t.audit,
        {
            "position": position,
            "at": naive_utc(e.timestamp),
            "aggregate_type": aggregate_type,
            "aggregate_id": e.originator_id,
            "version": e.originator_version,
            "event_type": event_type,
            "actor_id": e.actor_id,
            "actor_role": e.actor_role,
            "correlation_id": e.correlation_id,
        },
    )


AUDIT: dict[type, Handler] = {cls: audited for cls in (*DIRECTORY, *PORTFOLIO)}

# Order matters: the portfolio reads organisation and ecosystem rows the directory writes.
PROJECTIONS: dict[str, dict[type, Handler]] = {"directory": DIRECTORY, "portfolio": PORTFOLIO, "audit": AUDIT}
