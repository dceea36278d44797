"""Importers of real EU data: counts, idempotence, resumability, bad rows, XLSX and filters."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text

from bootstrap import build_services, upgrade_database
from importers.common import RowError, country_from_name
from importers.cove import import_cove, parse_participant
from importers.erasmus import RowFilter, import_erasmus, organisation_kind
from runtime.services import Services
from runtime.settings import Settings
from tracker.actors import Actor
from tracker.ecosystem import ecosystem_id

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
COVE = DATA / "cove-projects.json"
ERASMUS = DATA / "erasmus-plus-projects-sample.csv"
IMPORTER = Actor("importer:test", "importer")


@pytest.fixture
def services(sql_url: str) -> Services:
    built = build_services(Settings(database_url=sql_url))
    yield built
    built.close()


def counts(services: Services) -> dict[str, int]:
    services.read_model.catch_up()
    queries = {
        "ecosystems": "SELECT count(*) FROM rm_ecosystems",
        "organisations": "SELECT count(*) FROM rm_organisations",
        "memberships": "SELECT count(*) FROM rm_ecosystem_members",
        "coordinators": "SELECT count(*) FROM rm_ecosystem_members WHERE role = 'coordinator'",
        "greek": "SELECT count(*) FROM rm_organisations WHERE country = 'GR'",
        "el": "SELECT count(*) FROM rm_organisations WHERE country = 'EL'",
    }
    with services.read_model.reader.connect() as conn:
        return {name: conn.execute(text(sql)).scalar_one() for name, sql in queries.items()}


EXPECTED_COVE = {"ecosystems": 73, "organisations": 1578, "memberships": 1856, "coordinators": 73, "el": 0}


def test_cove_import_gives_the_published_counts_and_a_second_run_creates_nothing(services: Services) -> None:
    first = import_cove(services.app, COVE, actor=IMPORTER)
    assert (first.rows, first.created, first.rejected, first.organisations_created, first.memberships_created) == (
        73,
        73,
        0,
        1578,
        1856,
    )
    found = counts(services)
    assert {k: found[k] for k in EXPECTED_COVE} == EXPECTED_COVE
    assert found["greek"] > 0
    position = services.app.current_position()
    second = import_cove(services.app, COVE, actor=IMPORTER)
    assert (second.created, second.unchanged, second.organisations_created, second.memberships_created) == (0, 73, 0, 0)
    assert second.changed_nothing
    assert services.app.current_position() == position


def test_participant_names_with_parentheses_parse_from_the_right() -> None:
    assert parse_participant("KNOWLEDGE INNOVATION CENTRE (MALTA)LIMITED (Malta, partner)") == (
        "KNOWLEDGE INNOVATION CENTRE (MALTA)LIMITED",
        "MT",
        "partner",
    )
    assert parse_participant("AEDIL (EU) (Luxembourg, associated partner)") == (
        "AEDIL (EU)",
        "LU",
        "associated_partner",
    )
    assert parse_participant("X (Kosovo*, affiliated entity)")[1] == "XK"
    assert parse_participant("Y (Türkiye, coordinator)")[1:] == ("TR", "coordinator")
    with pytest.raises(RowError):
        parse_participant("No country at all")
    with pytest.raises(RowError):
        parse_participant("Z (Atlantis, partner)")
    assert (country_from_name("EL"), country_from_name("Greece"), country_from_name("UK")) == ("GR", "GR", "GB")


def _import_killed_after_first_progress(command: list[str], env: dict[str, str]) -> bool:
    """Run the import and SIGKILL it at its first progress line (after its first row); False if it finished first."""
    process = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)  # noqa: S603
    assert process.stderr is not None
    for line in process.stderr:  # plain progress lines (at most one a second): the pipe is not a terminal
        if line.startswith("importing"):
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=30)
    process.stderr.close()
    return process.returncode == -signal.SIGKILL


def test_cove_import_killed_midway_completes_on_rerun_without_duplicates(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "cli", "import", "cove", str(COVE)]
    # The kill can land after the last row on a fast run: then try again on a fresh store, a few times.
    for attempt in range(5):
        sqlite_url = f"sqlite:///{tmp_path}/tracker-{attempt}.db"
        upgrade_database(Settings(database_url=sqlite_url))
        env = os.environ | {"TRACKER_DATABASE_URL": sqlite_url}
        if not _import_killed_after_first_progress(command, env):
            continue
        services = build_services(Settings(database_url=sqlite_url))
        try:
            partial = counts(services)
            if partial["ecosystems"] == 73:
                continue
            assert 0 < partial["ecosystems"] < 73
            rerun = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=True)  # noqa: S603
            assert "73 rows" in rerun.stdout
            found = counts(services)
            assert {k: found[k] for k in EXPECTED_COVE} == EXPECTED_COVE
            return
        finally:
            services.close()
    pytest.fail("the import finished before the kill landed, five times over")


def test_erasmus_sample_imports_every_partner_exact_grant_and_flags(services: Services) -> None:
    summary = import_erasmus(services.app, ERASMUS, actor=IMPORTER)
    assert (summary.rows, summary.created, summary.rejected) == (9, 9, 0)
    partnership = services.app.get_ecosystem(ecosystem_id("2014-1-LI01-KA200-000005"))
    assert partnership.eu_grant_eur == Decimal("112527.93")
    assert (partnership.is_good_practice, partnership.is_success_story) == (True, False)
    assert (partnership.programme, partnership.key_action, partnership.action_type, partnership.call_year) == (
        "Erasmus+",
        "Cooperation for innovation and the exchange of good practices",
        "Strategic Partnerships addressing more than one field",
        2014,
    )
    assert [m["role"] for m in partnership.members] == ["coordinator", "partner", "partner", "partner", "partner"]
    sport = services.app.get_ecosystem(ecosystem_id("556927-EPP-1-2014-1-LT-SPO-SCP"))
    assert len(sport.members) == 8
    greek = services.app.find_organisation_id("UNIVERSITY OF PIRAEUS RESEARCH CENTER", "GR")
    assert greek is not None
    assert services.app.get_organisation(greek).kind == "higher_education"
    again = import_erasmus(services.app, ERASMUS, actor=IMPORTER)
    assert (again.created, again.unchanged, again.changed_nothing) == (0, 9, True)


def erasmus_sample() -> tuple[list[str], list[dict[str, str]]]:
    """The shared Erasmus+ sample's header and rows, to build altered files from."""
    with ERASMUS.open(newline="", encoding="utf-8") as source:
        reader = csv.DictReader(source)
        rows = list(reader)
    assert reader.fieldnames is not None
    return list(reader.fieldnames), rows


def test_malformed_erasmus_rows_are_reported_and_the_rest_imported(services: Services, tmp_path: Path) -> None:
    header, rows = erasmus_sample()
    grant = next(h for h in header if h.startswith("EU Grant award"))
    bad = [
        rows[0] | {"Project Identifier": "BAD-GRANT", grant: "12,5 EUR"},
        rows[1] | {"Project Identifier": ""},
        rows[2] | {"Project Identifier": "BAD-COUNTRY", "Coordinator's country": "Atlantis"},
        rows[3] | {"Project Identifier": "BAD-FLAG", "Is Good Practice": "Maybe"},
    ]
    broken = tmp_path / "broken.csv"
    with broken.open("w", newline="", encoding="utf-8") as target:
        writer = csv.DictWriter(target, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows[:4] + bad + rows[4:])
    summary = import_erasmus(services.app, broken, actor=IMPORTER)
    assert (summary.rows, summary.created, summary.rejected) == (13, 9, 4)
    assert [p["row"] for p in summary.problems] == [5, 6, 7, 8]
    reasons = " | ".join(p["reason"] for p in summary.problems)
    assert "EU grant '12,5 EUR'" in reasons
    assert "Project Identifier is empty" in reasons
    assert "unknown country 'Atlantis'" in reasons
    assert "Is Good Practice must be Yes or No" in reasons
    assert ecosystem_id("BAD-GRANT") not in services.app.repository


def test_erasmus_xlsx_and_filters(services: Services, tmp_path: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    with ERASMUS.open(newline="", encoding="utf-8") as source:
        for n, row in enumerate(csv.reader(source)):
            sheet.append([int(v) if n and v.isdigit() and len(v) == 4 else v for v in row])
    xlsx = tmp_path / "export.xlsx"
    workbook.save(xlsx)
    summary = import_erasmus(
        services.app, xlsx, actor=IMPORTER, filters=[RowFilter.parse("Key Action~cooperation for innovation")]
    )
    assert (summary.rows, summary.created, summary.skipped) == (9, 1, 8)
    eco = services.app.get_ecosystem(ecosystem_id("2014-1-LI01-KA200-000005"))
    assert (eco.call_year, eco.eu_grant_eur) == (2014, Decimal("112527.93"))
    exact = import_erasmus(services.app, ERASMUS, actor=IMPORTER, filters=[RowFilter.parse("Action Type=sport")])
    assert exact.created == 0
    with pytest.raises(ValueError, match="must look like"):
        RowFilter.parse("nonsense")


def test_a_filter_on_a_column_the_file_lacks_is_refused_before_anything_is_imported(services: Services) -> None:
    before = services.app.current_position()
    with pytest.raises(RowError, match="has no column 'Acton Type' to filter on"):
        import_erasmus(services.app, ERASMUS, actor=IMPORTER, filters=[RowFilter.parse("Acton Type~school")])
    assert services.app.current_position() == before
    # The column's name is matched as the export writes it, whatever its case and spacing.
    kept = import_erasmus(services.app, ERASMUS, actor=IMPORTER, filters=[RowFilter.parse(" action type ~partnership")])
    assert (kept.created, kept.skipped) == (2, 7)


def test_the_command_line_says_when_the_filters_kept_nothing_and_when_nothing_changed(sql_url: str) -> None:
    from click.testing import CliRunner

    from cli.main import main

    env = {"TRACKER_DATABASE_URL": sql_url}
    run = ["import", "erasmus", str(ERASMUS), "--filter", "Action Type~partnership"]
    first = CliRunner().invoke(main, run, env=env)
    assert first.exit_code == 0, first.output
    assert "2 created" in first.output
    again = CliRunner().invoke(main, run, env=env)
    assert "nothing changed: everything the filters kept was already imported" in again.output
    none = CliRunner().invoke(main, ["import", "erasmus", str(ERASMUS), "--filter", "Action Type=sport"], env=env)
    assert "nothing imported: the filters kept none of the 9 rows" in none.output
    typo = CliRunner().invoke(main, ["import", "erasmus", str(ERASMUS), "--filter", "Acton Type~school"], env=env)
    assert typo.exit_code == 1
    assert "has no column 'Acton Type' to filter on" in typo.output


def test_organisation_types_map_onto_kinds() -> None:
    assert (
        organisation_kind("School/Institute/Educational centre – Vocational Training (secondary level)")
        == "vet_provider"
    )
    assert organisation_kind("Higher education institution (tertiary level)") == "higher_education"
    assert organisation_kind("Non-governmental organisation/association/social enterprise") == "ngo"
    assert organisation_kind("Local Public body") == "public_authority"
    assert organisation_kind("Small and medium sized enterprise") == "company"
    assert organisation_kind("Sport club") == "other"


def test_cove_file_that_is_not_json_is_refused_as_a_whole(services: Services, tmp_path: Path) -> None:
    junk = tmp_path / "junk.json"
    junk.write_text("{not json")
    with pytest.raises(RowError):
        import_cove(services.app, junk, actor=IMPORTER)
    partial = tmp_path / "partial.json"
    records = json.loads(COVE.read_text(encoding="utf-8"))[:2]
    records.append({"id": "", "acronym": "X"})
    partial.write_text(json.dumps(records))
    summary = import_cove(services.app, partial, actor=IMPORTER)
    assert (summary.created, summary.rejected, summary.problems[0]["row"]) == (2, 1, 3)


def test_a_rejected_cove_record_writes_none_of_its_organisations(services: Services, tmp_path: Path) -> None:
    """A call year that is not a year, or one the domain refuses, rejects the record before any of its
    organisations is registered; the records after it are imported."""
    good = json.loads(COVE.read_text(encoding="utf-8"))[:1]
    odd_years = [float("inf"), 1e308, 2019.5, "²", "9" * 1000, True, {"year": 2019}, 1900, "1900"]
    bad = [
        {
            "id": f"BAD-{n}",
            "acronym": f"BAD{n}",
            "project_title": "Refused",
            "call_year": year,
            "participants": [f"Refused school {n} (Lithuania, coordinator)"],
        }
        for n, year in enumerate(odd_years)
    ]
    # Two coordinators: the ecosystem would refuse the second, so neither organisation is registered either.
    odd_years.append(2021)
    bad.append(
        {
            "id": "BAD-TWO-COORDINATORS",
            "acronym": "TWO",
            "project_title": "Refused",
            "call_year": 2021,
            "participants": [
                f"Refused school {len(bad)} (Lithuania, coordinator)",
                "Second head (Lithuania, coordinator)",
            ],
        }
    )
    source = tmp_path / "odd-years.json"
    source.write_text(json.dumps(bad + good))  # Infinity is written as JSON's extension, as Python reads it
    before = counts(services)
    summary = import_cove(services.app, source, actor=IMPORTER)
    assert (summary.created, summary.rejected) == (1, len(odd_years))
    assert [p["code"] for p in summary.problems] == ["year"] * 7 + ["refused"] * 3
    assert services.app.find_organisation_id("Second head", "LT") is None
    assert summary.organisations_created == len(good[0]["participants"])
    for n in range(len(odd_years)):
        assert services.app.find_organisation_id(f"Refused school {n}", "LT") is None
    assert counts(services)["organisations"] == before["organisations"] + summary.organisations_created


def test_a_rejected_erasmus_row_writes_none_of_its_organisations(services: Services, tmp_path: Path) -> None:
    header, rows = erasmus_sample()
    odd_years = ["²", "9" * 5000, "2019.0", "1900"]
    bad = [
        rows[0]
        | {"Project Identifier": f"BAD-YEAR-{n}", "Call year": year, "Coordinating organisation name": f"Refused {n}"}
        for n, year in enumerate(odd_years)
    ]
    broken = tmp_path / "years.csv"
    with broken.open("w", newline="", encoding="utf-8") as target:
        writer = csv.DictWriter(target, fieldnames=header)
        writer.writeheader()
        writer.writerows(bad)
    summary = import_erasmus(services.app, broken, actor=IMPORTER)
    assert (summary.created, summary.rejected) == (0, len(odd_years))
    assert [p["code"] for p in summary.problems] == ["year", "year", "year", "refused"]
    assert summary.organisations_created == 0
    country = country_from_name(rows[0]["Coordinator's country"])
    for n in range(len(odd_years)):
        assert services.app.find_organisation_id(f"Refused {n}", country) is None


def test_shared_data_is_present() -> None:
    assert COVE.exists(), f"{COVE} is missing: CI clones ../shared beside the project"
