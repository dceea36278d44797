"""Centres of Vocational Excellence (DG EMPL's project participants data): projects become ecosystems."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

from importers.common import Interrupted, Outcome, Progress, RowError, Summary, Writer, call_year, country_from_name
from tracker.actors import Actor
from tracker.application import TrackerApplication

ROLES = {
    "coordinator": "coordinator",
    "partner": "partner",
    "associated partner": "associated_partner",
    "affiliated entity": "affiliated_entity",
}
_PARTICIPANT = re.compile(r"^(?P<name>.+)\s\((?P<country>[^(),]+),\s*(?P<role>[^(),]+)\)\s*$", re.DOTALL)


def parse_participant(text: str) -> tuple[str, str, str]:
    """'NAME (Country, role)' with NAME possibly holding parentheses itself: parsed from the right."""
    match = _PARTICIPANT.match(text.strip())
    if match is None:
        raise RowError("participant_format", value=repr(text))
    role = ROLES.get(match["role"].strip().casefold())
    if role is None:
        raise RowError("participant_role", value=repr(text), role=repr(match["role"]))
    return match["name"].strip(), country_from_name(match["country"]), role


def count_records(path: Path) -> int:
    """The projects in a CoVE file, for a progress bar (at least 1); the import reports an unreadable file itself."""
    try:
        records = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError, RecursionError):
        return 1
    return max(len(records), 1) if isinstance(records, list) else 1


def import_cove(
    app: TrackerApplication,
    path: str | Path,
    *,
    actor: Actor,
    source_name: str | None = None,
    progress: Progress | None = None,
    dry_run: bool = False,
) -> Summary:
    path = Path(path)
    source = source_name or path.name
    summary = Summary(source=source, dry_run=dry_run)
    started = time.perf_counter()
    try:
        records = json.loads(path.read_text(encoding="utf-8-sig"))  # -sig: as Windows' Notepad saves it
    except (OSError, ValueError, RecursionError) as exc:  # ValueError: bad UTF-8 or JSON, or a 4,300-digit integer
        raise RowError("not_json", file=path.name, detail=f"{type(exc).__name__}: {exc}") from None
    if not isinstance(records, list):
        raise RowError("not_a_list", file=path.name)
    writer = Writer(app, actor, source, dry_run=dry_run)
    try:
        for row, record in enumerate(records, 1):
            summary.rows += 1
            project = str(record.get("id") or "").strip() if isinstance(record, dict) else ""
            summary.record(
                row, lambda row=row, record=record: _import_record(writer, summary, row, record), project=project
            )
            if progress is not None:
                progress.update(
                    row, f"created {summary.created}, unchanged {summary.unchanged}, rejected {summary.rejected}"
                )
    except KeyboardInterrupt:
        raise Interrupted(summary) from None
    finally:  # a stopped import says how long it ran, as a finished one does
        summary.seconds = time.perf_counter() - started
    return summary


def _import_record(writer: Writer, summary: Summary, row: int, record: Any) -> Outcome:
    if not isinstance(record, dict):
        raise RowError("not_an_object")
    identifier = str(record.get("id") or "").strip()
    acronym = str(record.get("acronym") or "").strip()
    title = str(record.get("project_title") or "").strip()
    if not identifier or not acronym or not title:
        raise RowError("project_fields")
    year = call_year(record.get("call_year"), "call_year")
    participants = record.get("participants")
    if not isinstance(participants, list) or not participants:
        raise RowError("participants")
    parsed = [parse_participant(str(p)) for p in participants]  # parse all first: a bad row writes nothing
    details = {
        "acronym": acronym,
        "title": title,
        "programme": "Erasmus+",
        "key_action": "Centres of Vocational Excellence",
        "project_identifier": identifier,
        "call_year": year,
    }
    writer.check(
        [({"name": name, "country": country, "kind": "other"}, role) for name, country, role in parsed], details
    )
    members: list[tuple[Any, str]] = []
    for name, country, role in parsed:
        org_id = writer.organisation(summary, row, name=name, country=country, kind="other")
        if (org_id, role) not in members:
            members.append((org_id, role))
    # The programme and key action are what every CoVE is, not what the file says: not the file's to differ in.
    return writer.ecosystem(summary, row, members, derived=("programme", "key_action"), **details)
