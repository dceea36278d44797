"""The domain's words as a reader sees them, translated: stages, statuses, roles, rubric criteria and levels, event
types. The rules behind them stay in the domain (tracker.stages, tracker.rubric); this module only names them."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

from importers.common import REASONS as IMPORT_REFUSALS
from tracker.actors import ROLES
from tracker.audit_chain import REASONS
from tracker.ecosystem import ECOSYSTEM_DETAILS, MEMBER_ROLES
from tracker.organisation import ORGANISATION_KINDS
from tracker.rubric import CURRENT_RUBRIC
from tracker.rules import REVISABLE
from tracker.stages import DECISIONS, EVIDENCE_KINDS, STAGES, STATUSES

STAGE_NAMES = {
    "identification": _l("identification"),
    "testing": _l("testing"),
    "development": _l("development"),
    "assessment": _l("assessment"),
    "mainstreamed": _l("mainstreamed"),
}
STATUS_NAMES = {
    "active": _l("active"),
    "on_hold": _l("on hold"),
    "mainstreamed": _l("mainstreamed"),
    "discontinued": _l("discontinued"),
}
ROLE_NAMES = {
    "admin": _l("administrator"),
    "manager": _l("manager"),
    "provider": _l("VET provider"),
    "evaluator": _l("evaluator"),
    "analyst": _l("policy analyst"),
}
# Who acted, as the history names them: a person's role, or the tracker's own importer and system.
ACTOR_ROLE_NAMES = {**ROLE_NAMES, "importer": _l("importer"), "system": _l("the tracker")}
# What leaves the tracker: the kinds of e-mail, and how far a delivery or an e-mail got.
EMAIL_KIND_NAMES = {
    "evaluator_assigned": _l("evaluator assigned"),
    "gate_decision": _l("gate decision"),
    "invitation": _l("invitation"),
    "endpoint_disabled": _l("webhook endpoint disabled"),
}
DELIVERY_STATUS_NAMES = {"pending": _l("waiting"), "succeeded": _l("delivered"), "failed": _l("failed")}
EMAIL_STATUS_NAMES = {
    "pending": _l("waiting"),
    "sent": _l("sent"),
    "failed": _l("failed"),
    "skipped": _l("not sent (turned off, or the person cannot be written to)"),
}
DECISION_NAMES = {
    "advance": _l("advance"),
    "hold": _l("hold"),
    "resume": _l("resume"),
    "recycle": _l("send back"),
    "discontinue": _l("discontinue"),
}
EVIDENCE_KIND_NAMES = {
    "report": _l("report"),
    "evaluation": _l("evaluation"),
    "dataset": _l("dataset"),
    "publication": _l("publication"),
    "case_study": _l("case study"),
    "testimonial": _l("testimonial"),
    "video": _l("video"),
    "curriculum": _l("curriculum"),
    "policy_document": _l("policy document"),
    "other": _l("other"),
}
# An innovation's revisable details (tracker.rules.REVISABLE).
DETAIL_NAMES = {
    "title": _l("title"),
    "summary": _l("summary"),
    "themes": _l("themes"),
    "target_groups": _l("target groups"),
    "readiness_level": _l("readiness level"),
}
# Each criterion of the rubric: its name and what it asks.
CRITERIA = {
    "relevance": (_l("Relevance"), _l("Documented need; fit with EU and national VET priorities.")),
    "effectiveness": (_l("Effectiveness"), _l("Evidence of outcomes from testing.")),
    "transferability": (_l("Transferability"), _l("Works in varied settings, simple, affordable per learner.")),
    "sustainability": (_l("Sustainability"), _l("Owner, funding beyond the grant, embedded in curricula.")),
    "partnership": (_l("Partnership"), _l("Employers and authorities engaged.")),
    "openness": (_l("Openness"), _l("Open licence, results published.")),
}
# What each level of the scale means.
LEVELS = {
    0: _l("none"),
    1: _l("claimed"),
    2: _l("partial"),
    3: _l("evidenced"),
    4: _l("independently verified"),
}
EVENT_NAMES = {
    "Submitted": _l("submitted"),
    "DetailsRevised": _l("details revised"),
    "PilotStarted": _l("pilot started"),
    "PilotOutcomeRecorded": _l("pilot outcome recorded"),
    "EvidenceAdded": _l("evidence added"),
    "AdoptionRecorded": _l("adoption recorded"),
    "AssessmentRecorded": _l("assessment recorded"),
    "EvaluatorAssigned": _l("evaluator assigned"),
    "EvaluatorUnassigned": _l("evaluator unassigned"),
    "NoteAdded": _l("note added"),
    "Advanced": _l("advanced"),
    "Recycled": _l("sent back"),
    "PutOnHold": _l("put on hold"),
    "Resumed": _l("resumed"),
    "Discontinued": _l("discontinued"),
    "Registered": _l("registered"),
    "MemberJoined": _l("member joined"),
}
# Why the event log no longer matches its audit chain (tracker.audit_chain's reasons).
CHAIN_REASONS = {
    "altered": _l("the stored event no longer hashes to the link recorded for it (altered, replaced or reordered)"),
    "missing": _l("the chain recorded an event at this position, and the log no longer has it (deleted)"),
    "unexpected": _l("the log has an event at this position that the chain never recorded (inserted)"),
    "position_not_in_log": _l("the log has no event at this position"),
    "hash_mismatch": _l("the log hashes to another value at this position than the hash given"),
}

ORGANISATION_KIND_NAMES = {
    "vet_provider": _l("VET provider"),
    "company": _l("company"),
    "higher_education": _l("higher education"),
    "ngo": _l("non-governmental organisation"),
    "public_authority": _l("public authority"),
    "chamber": _l("chamber"),
    "research": _l("research"),
    "other": _l("other"),
}
MEMBER_ROLE_NAMES = {
    "coordinator": _l("coordinator"),
    "partner": _l("partner"),
    "associated_partner": _l("associated partner"),
    "affiliated_entity": _l("affiliated entity"),
}
# An import's state (runtime.import_jobs).
JOB_STATES = {
    "running": _l("running"),
    "done": _l("done"),
    "failed": _l("failed"),
    "stopped": _l("stopped before it finished"),
}
# Why an importer refused a row or a file (importers.common.REASONS), with the same placeholders.
IMPORT_REASONS = {
    "country_code": _l("unknown country code %(value)s"),
    "country": _l("unknown country %(value)s"),
    "participant_format": _l("participant %(value)s is not written as 'NAME (Country, role)'"),
    "participant_role": _l("participant %(value)s has an unknown role, %(role)s"),
    "not_json": _l("%(file)s is not a readable JSON file: %(detail)s"),
    "not_a_list": _l("%(file)s must hold a JSON list of projects"),
    "not_an_object": _l("a project must be a JSON object"),
    "project_fields": _l("a project needs id, acronym and project_title"),
    "participants": _l("a project needs a list of participants"),
    "year": _l("%(column)s: %(value)s is not a year"),
    "not_csv": _l("%(file)s is not a CSV file in UTF-8 (%(detail)s)"),
    "not_utf8": _l(
        "%(file)s is not a CSV file in UTF-8: line %(line)s has the bytes %(byte)s after %(before)s; save it as CSV "
        "UTF-8 and import it again"
    ),
    "empty_file": _l("%(file)s is empty"),
    "utf16": _l("%(file)s is in UTF-16: save it as CSV UTF-8 and import it again"),
    "xls": _l("%(file)s is an Excel 97-2003 workbook: save it as .xlsx or as CSV UTF-8 and import it again"),
    "zip_as_csv": _l("%(file)s is a workbook or an archive, not a CSV file: name a workbook .xlsx"),
    "columns_twice": _l("%(file)s names the columns %(columns)s twice"),
    "cells": _l("the row has %(cells)s cells where the header has %(header)s"),
    "columns": _l("%(file)s is not an Erasmus+ projects export: it lacks the columns %(columns)s"),
    "not_xlsx": _l("%(file)s is not a readable Excel workbook (%(detail)s)"),
    "no_sheet": _l("%(file)s has no readable first sheet (%(detail)s)"),
    "no_header": _l("%(file)s has no header row"),
    "filter_column": _l("%(file)s has no column %(column)s to filter on"),
    "flag": _l("%(column)s must be Yes or No, not %(value)s"),
    "grant": _l("the EU grant %(value)s is not an amount in euros such as 136836.00"),
    "empty": _l("%(column)s is empty"),
    "no_country": _l("%(value)s has no country"),
    "unreadable_rest": _l("the file cannot be read from here on: %(detail)s"),
    "stopped": _l(
        "the import stopped at row %(row)s (%(detail)s): the rows before it are imported; import the file again to "
        "finish"
    ),
    "filters_source": _l("filters apply to Erasmus+ exports only, not to a %(source)s import"),
    "refused": _l("the tracker refused it: %(detail)s"),
}
# What an admin reads in a person's change log (access.people's `person_changes`).
PERSON_CHANGES = {
    "created": _l("added"),
    "updated": _l("changed"),
    "invited": _l("invited"),
    "erased": _l("erased"),
}
PERSON_FIELDS = {
    "name": _l("name"),
    "email": _l("e-mail address"),
    "role": _l("role"),
    "organisation_id": _l("organisation"),
    "locale": _l("language"),
    "active": lazy_pgettext("person", "active"),
    "password": _l("password"),
}
# An ecosystem's details (tracker.ecosystem.ECOSYSTEM_DETAILS), as an import's summary names those that differ.
ECOSYSTEM_DETAIL_NAMES = {
    "acronym": _l("acronym"),
    "title": _l("title"),
    "programme": _l("programme"),
    "key_action": _l("key action"),
    "action_type": _l("action type"),
    "project_identifier": _l("project identifier"),
    "call_year": _l("call year"),
    "start_date": _l("start date"),
    "end_date": _l("end date"),
    "eu_grant_eur": _l("EU grant"),
    "is_good_practice": _l("good practice"),
    "is_success_story": _l("success story"),
}

# Every stage, status, criterion and level of the domain has a name here (tests/pages check it).
NAMED = {
    "stages": (set(STAGES), set(STAGE_NAMES)),
    "statuses": (set(STATUSES), set(STATUS_NAMES)),
    "criteria": (set(CURRENT_RUBRIC.keys), set(CRITERIA)),
    "levels": (set(CURRENT_RUBRIC.scale), set(LEVELS)),
    "decisions": (set(DECISIONS), set(DECISION_NAMES)),
    "evidence kinds": (set(EVIDENCE_KINDS), set(EVIDENCE_KIND_NAMES)),
    "chain reasons": (set(REASONS), set(CHAIN_REASONS)),
    "organisation kinds": (set(ORGANISATION_KINDS), set(ORGANISATION_KIND_NAMES)),
    "member roles": (set(MEMBER_ROLES), set(MEMBER_ROLE_NAMES)),
    "actor roles": (set(ROLES), set(ACTOR_ROLE_NAMES)),
    "revisable details": (set(REVISABLE), set(DETAIL_NAMES)),
    "import reasons": (set(IMPORT_REFUSALS), set(IMPORT_REASONS)),
    "ecosystem details": (set(ECOSYSTEM_DETAILS), set(ECOSYSTEM_DETAIL_NAMES)),
}
