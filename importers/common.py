"""What every importer shares: the summary, country names, per-record idempotent commands and progress."""

from __future__ import annotations

import hashlib
import re
import sys
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, TextIO
from uuid import UUID

import pycountry

from storage.errors import STORE_ERRORS, said
from tracker import limits
from tracker.actors import Actor
from tracker.application import TrackerApplication
from tracker.ecosystem import Ecosystem, differing_details, ecosystem_id
from tracker.errors import DomainError, DuplicateEcosystemError, DuplicateOrganisationError
from tracker.organisation import organisation_id
from tracker.validation import country_code

# English names the sources use that ISO's list spells differently (or does not list).
COUNTRY_OVERRIDES = {
    "kosovo": "XK",
    "kosovo*": "XK",
    "türkiye": "TR",
    "turkey": "TR",
    "moldova": "MD",
    "russia": "RU",
    "czech republic": "CZ",
    "czechia": "CZ",
    "north macedonia": "MK",
    "republic of north macedonia": "MK",
    "united kingdom": "GB",
    "the netherlands": "NL",
    "netherlands": "NL",
    "slovak republic": "SK",
    "vatican": "VA",
    "south korea": "KR",
    "iran": "IR",
    "syria": "SY",
    "palestine": "PS",
    "tanzania": "TZ",
    "venezuela": "VE",
    "bolivia": "BO",
    "vietnam": "VN",
    "laos": "LA",
}


# Why a record or a file is refused: a code, and its text in English with %(name)s placeholders. The summary keeps
# the code and the values beside the English reason, so that a page can say it in the reader's language.
REASONS = {
    "country_code": "unknown country code %(value)s",
    "country": "unknown country %(value)s",
    "participant_format": "participant %(value)s is not 'NAME (Country, role)'",
    "participant_role": "participant %(value)s has unknown role %(role)s",
    "not_json": "%(file)s is not a readable JSON file: %(detail)s",
    "not_a_list": "%(file)s must hold a JSON list of projects",
    "not_an_object": "a project must be a JSON object",
    "project_fields": "a project needs id, acronym and project_title",
    "participants": "a project needs a list of participants",
    "year": "%(column)s %(value)s is not a year",
    "not_csv": "%(file)s is not a CSV file in UTF-8 (%(detail)s)",
    "not_utf8": "%(file)s is not a CSV file in UTF-8: line %(line)s has the bytes %(byte)s after %(before)s; save it "
    "as CSV UTF-8 and import it again",
    "empty_file": "%(file)s is empty",
    "utf16": "%(file)s is in UTF-16: save it as CSV UTF-8 and import it again",
    "xls": "%(file)s is an Excel 97-2003 workbook: save it as .xlsx or as CSV UTF-8 and import it again",
    "zip_as_csv": "%(file)s is a workbook or an archive, not a CSV file: name a workbook .xlsx",
    "columns_twice": "%(file)s names the columns %(columns)s twice",
    "cells": "the row has %(cells)s cells where the header has %(header)s",
    "columns": "%(file)s is not an Erasmus+ projects export: it lacks the columns %(columns)s",
    "not_xlsx": "%(file)s is not a readable Excel workbook (%(detail)s)",
    "no_sheet": "%(file)s has no readable first sheet (%(detail)s)",
    "no_header": "%(file)s has no header row",
    "filter_column": "%(file)s has no column %(column)s to filter on",
    "flag": "%(column)s must be Yes or No, not %(value)s",
    "grant": "EU grant %(value)s is not an amount in euros such as 136836.00",
    "empty": "%(column)s is empty",
    "no_country": "%(value)s has no country",
    "unreadable_rest": "unreadable file from here on: %(detail)s",
    "stopped": "the import stopped at row %(row)s (%(detail)s): the rows before it are imported; import the file "
    "again to finish",
    "filters_source": "filters apply to Erasmus+ exports only, not to a %(source)s import",
    "refused": "%(detail)s",  # the tracker refused the record (a rule of the domain), in its words
}


class RowError(ValueError):
    """A record that cannot be imported (the import goes on with the next one), or a file that cannot be read: one
    of REASONS, with its values."""

    def __init__(self, code: str, **values: object) -> None:
        self.code = code
        self.values = {name: str(value) for name, value in values.items()}
        super().__init__(REASONS[code] % self.values)


# The sources an import reads, and the kinds of file each takes (by suffix).
SOURCES = {"cove": (".json",), "erasmus": (".csv", ".xlsx", ".xlsm")}


def check_filters(source: str, filters: list[Any]) -> None:
    """Row filters select rows of an Erasmus+ export; given with another source they would be ignored: refused."""
    if filters and source != "erasmus":
        raise RowError("filters_source", source=source)


class ImportStopped(Exception):
    """The import could not go on (the store failed, not a record): what it did so far is in `summary`, and running
    it again finishes it (every command of an import is idempotent)."""

    def __init__(self, summary: Summary, row: int, cause: BaseException) -> None:
        self.summary = summary
        self.error = RowError("stopped", row=row, detail=said(cause))
        super().__init__(str(self.error))


class Interrupted(KeyboardInterrupt):
    """The import was interrupted (Ctrl-C): what it did so far is in `summary`; running it again finishes it."""

    def __init__(self, summary: Summary) -> None:
        super().__init__()
        self.summary = summary


def call_year(value: object, column: str) -> int | None:
    """A call year as a source gives it: empty, a whole number, or up to four digits (0-9); anything else (a
    fraction, Infinity, "²", a thousand digits) is refused. The domain checks the year's range."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,4}", value.strip()):
        return int(value)
    raise RowError("year", column=column, value=repr(value))


def country_from_name(name: str) -> str:
    """An ISO code for an English country name or a code (EU 'EL' and 'UK' included)."""
    cleaned = name.strip()
    if len(cleaned) == 2:
        try:
            return country_code(cleaned)
        except DomainError:
            raise RowError("country_code", value=repr(cleaned)) from None
    override = COUNTRY_OVERRIDES.get(cleaned.casefold())
    if override:
        return override
    try:
        return str(pycountry.countries.lookup(cleaned).alpha_2)
    except LookupError:
        raise RowError("country", value=repr(cleaned)) from None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


# What importing one record did: a new ecosystem, members added to one imported before, or nothing.
Outcome = Literal["created", "completed", "unchanged"]
PROBLEMS_LISTED = 1000


@dataclass
class Summary:
    source: str
    # A check of the file: every record read and checked as an import would, nothing written; the counts say what
    # importing it now would do.
    dry_run: bool = False
    rows: int = 0
    created: int = 0
    completed: int = 0  # ecosystems imported before that gained members from this file
    unchanged: int = 0
    rejected: int = 0
    skipped: int = 0
    organisations_created: int = 0
    organisations_existing: int = 0
    memberships_created: int = 0
    # The first PROBLEMS_LISTED rejected records, {row, project (where the record names one), reason, code, values};
    # the rest are counted in problems_not_listed, so that a file of which every row fails stays a small summary.
    problems: list[dict[str, Any]] = field(default_factory=list)
    problems_not_listed: int = 0
    # Records of ecosystems imported before whose details differ from what is stored: {row, project_identifier,
    # fields, values: {field: [stored, in the file]}}. What is stored stays; nothing revises an ecosystem.
    differences: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def changed_nothing(self) -> bool:
        return self.created == 0 and self.organisations_created == 0 and self.memberships_created == 0

    def record(self, row: int, attempt: Callable[[], Outcome], *, project: str = "") -> None:
        """Count one record as `attempt` says it went (created, completed or unchanged), or rejected with the reason
        it was refused; `project` names it in a problem where the record has an identifier."""
        try:
            outcome = attempt()
        except RowError as exc:
            self.reject(row, exc, project=project)
        except DomainError as exc:
            self.reject(row, RowError("refused", detail=exc), project=project)
        except STORE_ERRORS as exc:  # the store, not the record: counting it rejected would reject the rest too
            raise ImportStopped(self, row, exc) from exc
        else:
            setattr(self, outcome, getattr(self, outcome) + 1)

    def reject(self, row: int, error: RowError, *, project: str = "") -> None:
        self.rejected += 1
        if len(self.problems) >= PROBLEMS_LISTED:
            self.problems_not_listed += 1
            return
        problem = {"row": row, "reason": str(error), "code": error.code, "values": error.values}
        self.problems.append(problem | ({"project": project[:200]} if project else {}))

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "dry_run": self.dry_run,
            "rows": self.rows,
            "created": self.created,
            "completed": self.completed,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "skipped": self.skipped,
            "organisations_created": self.organisations_created,
            "organisations_existing": self.organisations_existing,
            "memberships_created": self.memberships_created,
            "problems": self.problems,
            "problems_not_listed": self.problems_not_listed,
            "differences": self.differences,
            "changed_nothing": self.changed_nothing,
            "seconds": round(self.seconds, 3),
        }


class Writer:
    """Idempotent commands for importers: what exists is left alone and counted as unchanged.

    In a dry run nothing is written: each record is checked as it would be, and counted as what importing it would
    do, against the store and against the records before it in the file (the organisations and ecosystems it would
    have created, with their members)."""

    def __init__(self, app: TrackerApplication, actor: Actor, source: str, *, dry_run: bool = False) -> None:
        self.app = app
        self.actor = actor
        self.source = source
        self.dry_run = dry_run
        self._organisations: set[UUID] = set()  # the organisations counted so far, created or found
        # A dry run's ecosystems so far: their details as stored, and their members.
        self._planned: dict[UUID, tuple[dict[str, Any], set[tuple[UUID, str]]]] = {}

    def correlation(self, row: int) -> str:
        """What each event of a record names as its cause: the source (shortened, keeping a digest of it, where a
        long file name would make the id too long for the store) and the record's row."""
        source = "".join("?" if unicodedata.category(ch) == "Cc" else ch for ch in self.source)
        room = limits.ID_MAX - len("import:#row=") - len(str(row))
        if len(source) > room:
            digest = hashlib.sha256(source.encode()).hexdigest()[:16]
            source = f"{source[: room - len(digest) - 1]}~{digest}"
        return f"import:{source}#row={row}"

    def check(self, members: list[tuple[dict[str, Any], str]], ecosystem: dict[str, Any]) -> None:
        """Refuse the record (DomainError) if any of its organisations, its ecosystem or a membership (organisation,
        role) would be refused, before any of them is written: a record is imported whole or not at all."""
        self.app.check_registrations(actor=self.actor, members=members, ecosystem=ecosystem)

    def organisation(self, summary: Summary, row: int, *, name: str, country: str, kind: str) -> UUID:
        """The organisation's id, registered if it is new. Each organisation is counted once, as created or as found
        already, however many of the file's records name it."""
        if self.dry_run:
            org_id = organisation_id(name, country)
            if org_id not in self._organisations:
                self._organisations.add(org_id)
                if org_id in self.app.repository:
                    summary.organisations_existing += 1
                else:
                    summary.organisations_created += 1
            return org_id
        try:
            receipt = self.app.register_organisation(
                actor=self.actor, name=name, country=country, kind=kind, correlation_id=self.correlation(row)
            )
        except DuplicateOrganisationError as exc:  # registered before (or meanwhile, by a concurrent import)
            existing: UUID = exc.details["existing_id"]
            if existing not in self._organisations:
                self._organisations.add(existing)
                summary.organisations_existing += 1
            return existing
        self._organisations.add(receipt.aggregate_id)
        summary.organisations_created += 1
        return receipt.aggregate_id

    def ecosystem(
        self,
        summary: Summary,
        row: int,
        members: list[tuple[UUID, str]],
        *,
        derived: tuple[str, ...] = (),
        **details: Any,
    ) -> Outcome:
        """Register the ecosystem with its members, or add the members it lacks. `derived` names the details the
        importer made up rather than read from the file, which an ecosystem imported before is not compared in."""
        eco_id = ecosystem_id(details["project_identifier"])
        read = {name: value for name, value in details.items() if name not in (*derived, "project_identifier")}
        if self.dry_run:
            return self._plan(summary, row, eco_id, members, details, read)
        if eco_id in self.app.repository:
            return self._complete(summary, row, eco_id, members, read)
        try:
            self.app.register_ecosystem(
                actor=self.actor, members=members, correlation_id=self.correlation(row), **details
            )
        except DuplicateEcosystemError:
            return self._complete(summary, row, eco_id, members, read)
        summary.memberships_created += len(members)
        return "created"

    def _plan(
        self,
        summary: Summary,
        row: int,
        eco_id: UUID,
        members: list[tuple[UUID, str]],
        details: dict[str, Any],
        read: dict[str, Any],
    ) -> Outcome:
        """A dry run's ecosystem: what importing the record would do, remembered (its details as they would be
        stored, its members) for the records after it."""
        planned = self._planned.get(eco_id)
        outcome: Outcome = "completed"
        if planned is None:
            if eco_id in self.app.repository:
                eco = self.app.get_ecosystem(eco_id)
                stored = eco.details()
                planned = (stored, {(member["organisation_id"], member["role"]) for member in eco.members})
            else:
                stored = Ecosystem.stored_details(latest_call_year=date.max.year, **details)
                planned, outcome = (stored, set()), "created"
            self._planned[eco_id] = planned
        stored, planned_members = planned
        if outcome != "created":
            self._report_differing(summary, row, stored, read)
        missing = [member for member in members if member not in planned_members]
        planned_members.update(missing)
        summary.memberships_created += len(missing)
        return outcome if outcome == "created" or missing else "unchanged"

    def _report_differing(self, summary: Summary, row: int, stored: dict[str, Any], read: dict[str, Any]) -> None:
        differing = differing_details(stored, read)
        if differing:
            summary.differences.append(
                {
                    "row": row,
                    "project_identifier": stored["project_identifier"],
                    "fields": list(differing),
                    # What is stored and what the file says, as text (None where there is nothing).
                    "values": {name: [_text(old), _text(new)] for name, (old, new) in differing.items()},
                }
            )

    def _complete(
        self, summary: Summary, row: int, eco_id: UUID, members: list[tuple[UUID, str]], read: dict[str, Any]
    ) -> Outcome:
        """Add the members an ecosystem imported before lacks; report the details read from the file in which the
        record differs from it (an import never revises what is stored)."""
        eco = self.app.get_ecosystem(eco_id)
        self._report_differing(summary, row, eco.details(), read)
        missing = [(org, role) for org, role in members if not eco.has_member(org, role)]
        for org, role in missing:
            self.app.add_ecosystem_member(
                eco_id, actor=self.actor, organisation_id=org, role=role, correlation_id=self.correlation(row)
            )
            summary.memberships_created += 1  # one by one: a store failing part way leaves the count true
        return "completed" if missing else "unchanged"


class Progress:
    """A progress bar on a terminal, plain progress lines otherwise."""

    def __init__(self, total: int, label: str, stream: TextIO | None = None) -> None:
        self.total = max(total, 1)
        self.label = label
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.last = 0.0

    def update(self, done: int, note: str = "") -> None:
        now = time.monotonic()
        finished = done >= self.total
        if self.tty:
            if now - self.last < 0.1 and not finished:
                return
            width = 30
            filled = int(width * min(done, self.total) / self.total)
            self.stream.write(f"\r{self.label} [{'#' * filled}{'-' * (width - filled)}] {done}/{self.total} {note}")
            if finished:
                self.stream.write("\n")
        elif now - self.last >= 1 or finished:
            self.stream.write(f"{self.label}: {done}/{self.total} {note}\n")
        else:
            return
        self.last = now
        self.stream.flush()
