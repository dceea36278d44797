"""Import files as admins have them: saved by a spreadsheet in another encoding or with semicolons, rows cut short,
columns twice, long cells and long names, files imported before and corrected since, and a store that fails part
way. Each is refused whole before anything is written, imported, or stopped with what was done said."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bootstrap import build_services
from cli.main import main as cli
from importers.common import ImportStopped, RowError
from importers.cove import import_cove
from importers.erasmus import RowFilter, import_erasmus
from runtime.services import Services
from runtime.settings import Settings
from tests.readmodel import store_fails_at
from tracker.actors import Actor
from tracker.ecosystem import ecosystem_id

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
ERASMUS = DATA / "erasmus-plus-projects-sample.csv"
COVE = DATA / "cove-projects.json"
IMPORTER = Actor("importer:test", "importer")


@pytest.fixture
def services(sqlite_url: str) -> Iterator[Services]:
    built = build_services(Settings(database_url=sqlite_url))
    yield built
    built.close()


def sample() -> list[list[str]]:
    with ERASMUS.open(newline="", encoding="utf-8") as source:
        return list(csv.reader(source))


def many(copies: int) -> list[list[str]]:
    """The sample's rows again and again, each copy's projects under identifiers of their own."""
    header, *rows = sample()
    at = header.index("Project Identifier")
    out = [header]
    for n in range(copies):
        out += [[f"COPY-{n}-{cell}" if i == at else cell for i, cell in enumerate(row)] for row in rows]
    return out


def write(path: Path, rows: list[list[str]], *, encoding: str = "utf-8", **dialect: Any) -> Path:
    with path.open("w", newline="", encoding=encoding, errors="replace") as target:
        csv.writer(target, **dialect).writerows(rows)
    return path


def test_a_csv_in_another_encoding_is_refused_whole_naming_the_line_wherever_its_first_such_byte_is(
    services: Services, tmp_path: Path
) -> None:
    # 1,080 rows, over 1 MiB, in ASCII but for one title near the end: the first byte that is not UTF-8 lies past
    # the first chunk the check reads, and far past any first read of the file.
    rows = [[cell.encode("ascii", "replace").decode("ascii") for cell in row] for row in many(120)]
    rows[1001][rows[0].index("Project Title")] = "Lycée professionnel"
    path = tmp_path / "export.csv"
    path.write_bytes(b"".join(_line(row).encode("latin-1") for row in rows))
    assert path.read_bytes().index(b"Lyc\xe9e") > 1 << 20
    before = services.app.current_position()
    with pytest.raises(RowError) as refused:
        import_erasmus(services.app, path, actor=IMPORTER)
    assert refused.value.code == "not_utf8"
    lines = path.read_bytes().split(b"\n")
    line = next(n for n, text in enumerate(lines, 1) if b"Lyc\xe9e" in text)
    assert refused.value.values["line"] == str(line)
    assert refused.value.values["byte"] == "e9"
    assert refused.value.values["before"].endswith("Lyc'")
    assert "save it as CSV UTF-8" in str(refused.value)
    assert services.app.current_position() == before


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 1 << 20])
@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
def test_the_line_and_the_text_before_a_byte_that_is_not_utf8_are_right_wherever_the_chunks_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int, end: str
) -> None:
    from importers import erasmus

    monkeypatch.setattr(erasmus, "_CHUNK", chunk)
    text = end.join(["Project Identifier,Project Title", "ÄŽ-1,Šiaulių €", "Ž-2,naïve café"]).encode()
    path = tmp_path / "export.csv"
    path.write_bytes(text + end.encode() + "Ž-3,Lyc".encode() + b"\xe9e" + end.encode())
    with pytest.raises(RowError) as refused:
        erasmus.read_rows(path).__next__()
    assert (refused.value.values["line"], refused.value.values["before"]) == ("4", "'Ž-3,Lyc'")
    path.write_bytes(text + end.encode())  # every byte UTF-8, some of them cut by the chunks' ends
    with pytest.raises(RowError, match="lacks the columns"):  # read past the check: not an export, but UTF-8
        erasmus.read_rows(path).__next__()


def _line(row: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(row)
    return out.getvalue()


def test_a_csv_saved_with_semicolons_a_bom_and_crlf_imports_as_the_export_does(
    services: Services, tmp_path: Path
) -> None:
    path = write(tmp_path / "export.csv", sample(), encoding="utf-8-sig", delimiter=";", lineterminator="\r\n")
    summary = import_erasmus(services.app, path, actor=IMPORTER)
    assert (summary.rows, summary.created, summary.rejected) == (9, 9, 0)
    eco = services.app.get_ecosystem(ecosystem_id("2014-1-LI01-KA200-000005"))
    assert len(eco.members) == 5
    tabs = write(tmp_path / "tabs.csv", sample(), delimiter="\t")
    assert import_erasmus(services.app, tabs, actor=IMPORTER).unchanged == 9


def test_a_row_with_cells_past_the_header_is_refused_and_one_without_its_trailing_empty_cells_is_read(
    services: Services, tmp_path: Path
) -> None:
    header, *rows = sample()
    at = header.index("Project Identifier")
    # As older spreadsheets save a row: without the empty cells at its end (no partner groups past the last).
    trimmed = [row[: max(n for n, cell in enumerate(row) if cell) + 1] for row in rows[:6]]
    assert all(len(row) < len(header) for row in trimmed)
    longer = [*rows[6], "stray", "cells"]
    trailing = [*rows[7], "", " "]  # a separator at the end of the line: empty cells past the header
    also_longer = [*rows[8], "stray"]
    path = write(tmp_path / "export.csv", [header, *trimmed, longer, trailing, also_longer])
    # A row the filters leave out is not refused, whatever its shape.
    kept = import_erasmus(
        services.app, path, actor=IMPORTER, filters=[RowFilter.parse(f"Project Identifier={rows[0][at]}")]
    )
    assert (kept.created, kept.skipped, kept.rejected) == (1, 8, 0)
    summary = import_erasmus(services.app, path, actor=IMPORTER)
    assert (summary.rows, summary.created + summary.unchanged, summary.rejected) == (9, 7, 2)
    assert [(p["row"], p["code"], p["values"], p["project"]) for p in summary.problems] == [
        (7, "cells", {"cells": str(len(header) + 2), "header": str(len(header))}, rows[6][at]),
        (9, "cells", {"cells": str(len(header) + 1), "header": str(len(header))}, rows[8][at]),
    ]
    assert ecosystem_id(rows[6][at]) not in services.app.repository
    partners = [n for n, name in enumerate(header) if name.startswith("Partner ") and name.endswith(" name")]
    for row in rows[:6]:  # each trimmed row kept its coordinator and every partner
        named = {row[n] for n in partners if row[n]}
        assert len(services.app.get_ecosystem(ecosystem_id(row[at])).members) == 1 + len(named)


def test_a_file_naming_a_column_twice_or_empty_is_refused_before_anything_is_written(
    services: Services, tmp_path: Path
) -> None:
    header, *rows = sample()
    twice = write(tmp_path / "twice.csv", [[*header, "project title"], *[[*row, "Another title"] for row in rows]])
    before = services.app.current_position()
    with pytest.raises(RowError, match="names the columns project title twice"):
        import_erasmus(services.app, twice, actor=IMPORTER)
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(RowError, match=r"empty\.csv is empty"):
        import_erasmus(services.app, tmp_path / "empty.csv", actor=IMPORTER)
    assert services.app.current_position() == before


def test_a_long_cell_is_read_and_a_long_file_name_still_names_each_row(services: Services, tmp_path: Path) -> None:
    rows = sample()
    rows[1][rows[0].index("Project Summary")] = "A long summary. " * 20_000  # 320,000 characters
    path = write(tmp_path / ("a-very-long-name-" * 12 + ".csv"), rows)
    summary = import_erasmus(services.app, path, actor=IMPORTER, source_name=f"{path.name}@{'f' * 36}")
    assert (summary.rows, summary.created, summary.rejected) == (9, 9, 0)


def test_a_file_correcting_projects_imported_before_is_reported_and_what_is_stored_stays(
    services: Services, tmp_path: Path
) -> None:
    import_erasmus(services.app, ERASMUS, actor=IMPORTER)
    rows = sample()
    header = rows[0]
    grant = next(n for n, name in enumerate(header) if name.lower().startswith("eu grant"))
    rows[2][header.index("Project Title")] = "A corrected title"
    rows[2][grant] = "1.00"
    rows[5][header.index("Project Title")] = f"  {rows[5][header.index('Project Title')]}  "  # as stored: trimmed
    summary = import_erasmus(services.app, write(tmp_path / "corrected.csv", rows), actor=IMPORTER)
    identifier = rows[2][header.index("Project Identifier")]
    stored = services.app.get_ecosystem(ecosystem_id(identifier))
    assert summary.differences == [
        {
            "row": 2,
            "project_identifier": identifier,
            "fields": ["title", "eu_grant_eur"],
            "values": {
                "title": [stored.title, "A corrected title"],
                "eu_grant_eur": [str(stored.eu_grant_eur), "1.00"],
            },
        }
    ]
    assert (summary.created, summary.unchanged, summary.changed_nothing) == (0, 9, True)
    assert stored.title != "A corrected title"

    runner = CliRunner()
    env = {"TRACKER_DATABASE_URL": str(services.settings.database_url)}
    said = runner.invoke(cli, ["import", "erasmus", str(tmp_path / "corrected.csv")], env=env)
    assert said.exit_code == 0, said.output
    assert f"row 2: {identifier} differs from what is stored in title, eu_grant_eur; kept as stored" in said.output
    assert "eu_grant_eur '" + str(stored.eu_grant_eur) + "' in the store, '1.00' in the file" in said.output
    assert "now differ from what is stored: 1" in said.output


def test_a_store_that_fails_part_way_stops_the_import_and_says_what_was_done(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    register = services.app.register_ecosystem
    store_fails_at(monkeypatch, services.app, 4)
    with pytest.raises(ImportStopped) as stopped:
        import_erasmus(services.app, ERASMUS, actor=IMPORTER)
    assert (stopped.value.summary.created, stopped.value.summary.rejected) == (3, 0)
    assert "stopped at row 4 (database is locked)" in str(stopped.value)  # the driver's words, not the SQL
    assert "import the file again to finish" in str(stopped.value)
    monkeypatch.setattr(services.app, "register_ecosystem", register)
    again = import_erasmus(services.app, ERASMUS, actor=IMPORTER)
    assert (again.created, again.unchanged) == (6, 3)


def test_the_command_line_exits_non_zero_when_rows_are_rejected_or_the_file_holds_none(
    sqlite_url: str, tmp_path: Path
) -> None:
    header, *rows = sample()
    at = header.index("Coordinator's country")
    rows[3][at] = "Atlantis"
    runner = CliRunner()
    env = {"TRACKER_DATABASE_URL": sqlite_url}
    some = runner.invoke(cli, ["import", "erasmus", str(write(tmp_path / "some.csv", [header, *rows]))], env=env)
    assert some.exit_code == 1
    assert f"row 4 ({rows[3][header.index('Project Identifier')]}): rejected: unknown country 'Atlantis'" in some.output
    assert "1 of 9 rows was rejected (listed above); the others are imported" in some.output
    only_header = runner.invoke(cli, ["import", "erasmus", str(write(tmp_path / "header.csv", [header]))], env=env)
    assert only_header.exit_code == 0, only_header.output
    assert "nothing imported: the file holds no records" in only_header.output
    assert "already imported" not in only_header.output


def test_a_cove_file_saved_with_a_byte_order_mark_imports(services: Services, tmp_path: Path) -> None:
    records = json.loads(COVE.read_text(encoding="utf-8"))[:3]
    path = tmp_path / "cove.json"
    path.write_text(json.dumps(records), encoding="utf-8-sig")
    summary = import_cove(services.app, path, actor=IMPORTER)
    assert (summary.rows, summary.created) == (3, 3)


def test_a_project_imported_before_that_gains_partners_is_counted_as_completed(
    services: Services, tmp_path: Path
) -> None:
    import_erasmus(services.app, ERASMUS, actor=IMPORTER)
    header, *rows = sample()
    names = [n for n in range(1, 100) if f"Partner {n} name" in header]
    row = next(row for row in rows if not row[header.index(f"Partner {names[-1]} name")])
    free = next(n for n in names if not row[header.index(f"Partner {n} name")])
    row[header.index(f"Partner {free} name")] = "Kauno kolegija"
    row[header.index(f"Partner {free} country")] = "Lithuania"
    summary = import_erasmus(services.app, write(tmp_path / "more.csv", [header, *rows]), actor=IMPORTER)
    assert (summary.created, summary.completed, summary.unchanged, summary.memberships_created) == (0, 1, 8, 1)
    assert not summary.changed_nothing


def test_rejected_rows_name_their_project_and_past_the_listed_ones_are_counted(
    services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("importers.common.PROBLEMS_LISTED", 2)
    header, *rows = sample()
    for row in rows[:4]:
        row[header.index("Coordinator's country")] = "Atlantis"
    summary = import_erasmus(services.app, write(tmp_path / "bad.csv", [header, *rows]), actor=IMPORTER)
    assert (summary.rejected, summary.problems_not_listed) == (4, 2)
    at = header.index("Project Identifier")
    assert [p["project"] for p in summary.problems] == [rows[0][at], rows[1][at]]


def test_grants_written_with_a_decimal_comma_and_grouped_thousands_are_read(services: Services, tmp_path: Path) -> None:
    header, *rows = sample()
    grant = next(n for n, name in enumerate(header) if name.lower().startswith("eu grant"))
    at = header.index("Project Identifier")
    written = ["112527,93", "112.527,93", "112 527,93", "112\u00a0527", "1.234", "12,5 EUR"]
    for row, amount in zip(rows, written, strict=False):
        row[grant] = amount
    path = write(tmp_path / "export.csv", [header, *rows], delimiter=";")
    summary = import_erasmus(services.app, path, actor=IMPORTER)
    assert [p["code"] for p in summary.problems] == ["grant"]
    amounts = [services.app.get_ecosystem(ecosystem_id(row[at])).eu_grant_eur for row in rows[:5]]
    assert amounts == [Decimal("112527.93")] * 3 + [Decimal("112527.00"), Decimal("1234.00")]


def test_details_an_importer_makes_up_are_not_reported_as_differing(services: Services, tmp_path: Path) -> None:
    import_cove(services.app, COVE, actor=IMPORTER)
    again = import_cove(services.app, COVE, actor=IMPORTER)
    assert (again.unchanged, again.differences) == (73, [])
    header, *rows = sample()
    at = header.index("Project Identifier")
    services.app.register_ecosystem(
        actor=IMPORTER,
        acronym="LI-SKILLS",
        title=rows[0][header.index("Project Title")],
        members=[],
        project_identifier=rows[0][at].lower(),
    )  # registered by hand with an acronym of its own, its identifier in other letters
    summary = import_erasmus(services.app, write(tmp_path / "one.csv", [header, rows[0]]), actor=IMPORTER)
    assert summary.completed == 1
    assert "acronym" not in summary.differences[0]["fields"]
    assert "project_identifier" not in summary.differences[0]["fields"]


def test_a_file_name_with_control_characters_still_names_each_row(services: Services, tmp_path: Path) -> None:
    summary = import_erasmus(services.app, ERASMUS, actor=IMPORTER, source_name="export\x01\x7f.csv")
    assert (summary.created, summary.rejected) == (9, 0)


def test_a_fault_of_the_importer_is_raised_as_one_not_taken_for_the_store_stopping(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise TypeError("a fault")

    monkeypatch.setattr("importers.erasmus.call_year", broken)
    with pytest.raises(TypeError, match="a fault"):
        import_erasmus(services.app, ERASMUS, actor=IMPORTER)


def _counts(summary: Any) -> dict[str, Any]:
    said = summary.as_dict()
    return {name: value for name, value in said.items() if name not in ("dry_run", "seconds")}


def test_a_dry_run_says_what_the_import_would_do_and_writes_nothing(services: Services, tmp_path: Path) -> None:
    header, *rows = sample()
    at = header.index("Project Identifier")
    names = [n for n in range(1, 100) if f"Partner {n} name" in header]
    # The same project twice, the second time with one more partner; and a row the tracker refuses.
    again = next(row for row in rows if not row[header.index(f"Partner {names[-1]} name")])[:]
    free = next(n for n in names if not again[header.index(f"Partner {n} name")])
    again[header.index(f"Partner {free} name")] = "Kauno kolegija"
    again[header.index(f"Partner {free} country")] = "Lithuania"
    again[header.index("Project Title")] = "The same project, its title said otherwise"
    refused = rows[0][:]
    refused[at], refused[header.index("Coordinator's country")] = "REFUSED-1", "Atlantis"
    path = write(tmp_path / "export.csv", [header, *rows, again, refused])
    for importer, source in ((import_cove, COVE), (import_erasmus, path)):
        before = services.app.current_position()
        checked = importer(services.app, source, actor=IMPORTER, dry_run=True)
        assert services.app.current_position() == before
        assert checked.dry_run
        done = importer(services.app, source, actor=IMPORTER)
        assert _counts(checked) == _counts(done)
        rerun = importer(services.app, source, actor=IMPORTER, dry_run=True)
        assert (rerun.created, rerun.completed, rerun.changed_nothing) == (0, 0, True)
    assert (done.created, done.completed, done.rejected) == (9, 1, 1)
    assert [d["fields"] for d in done.differences] == [["title"]]

    runner = CliRunner()
    env = {"TRACKER_DATABASE_URL": str(services.settings.database_url)}
    before = services.app.current_position()
    rows[2][header.index("Project Title")] = "A corrected title"
    said = runner.invoke(
        cli, ["import", "erasmus", "--dry-run", str(write(tmp_path / "c.csv", [header, *rows]))], env=env
    )
    assert said.exit_code == 0, said.output
    assert "a dry run: nothing was written" in said.output
    assert "differs from what is stored in title" in said.output
    assert services.app.current_position() == before


def test_a_refused_organisation_is_named_in_its_rows_reason(services: Services, tmp_path: Path) -> None:
    header, *rows = sample()
    long_name = "Profesinio mokymo centras " * 15  # 390 characters
    rows[0][header.index("Coordinating organisation name")] = long_name
    summary = import_erasmus(services.app, write(tmp_path / "export.csv", [header, *rows]), actor=IMPORTER)
    (problem,) = summary.problems
    assert problem["row"] == 1
    assert "organisation.name: must be at most" in problem["reason"]
    assert repr(long_name.strip()[:60] + "…") in problem["reason"]


@pytest.mark.parametrize(
    ("start", "code"),
    [
        ("Project Identifier,Project Title\n".encode("utf-16"), "utf16"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), "xls"),
        (b"PK\x03\x04" + bytes(500), "zip_as_csv"),
    ],
)
def test_a_file_saved_as_something_else_than_csv_is_named_as_what_it_is(
    tmp_path: Path, start: bytes, code: str
) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(start)
    with pytest.raises(RowError) as refused:
        next(iter(import_erasmus_rows(path)))
    assert refused.value.code == code


def import_erasmus_rows(path: Path) -> Any:
    from importers.erasmus import read_rows

    return read_rows(path)


def test_a_workbook_row_with_cells_past_the_header_is_refused_as_in_a_csv(services: Services, tmp_path: Path) -> None:
    from openpyxl import Workbook

    header, *rows = sample()
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(header)
    sheet.append(rows[0])
    sheet.append([*rows[1], "stray"])
    sheet.append([*rows[2], None, ""])
    book.save(tmp_path / "export.xlsx")
    summary = import_erasmus(services.app, tmp_path / "export.xlsx", actor=IMPORTER)
    assert (summary.created, summary.rejected) == (2, 1)
    assert [(p["row"], p["code"]) for p in summary.problems] == [(2, "cells")]


def test_each_organisation_is_counted_once_however_many_records_name_it(services: Services) -> None:
    first = import_cove(services.app, COVE, actor=IMPORTER)
    assert (first.organisations_created, first.organisations_existing) == (1578, 0)
    again = import_cove(services.app, COVE, actor=IMPORTER, dry_run=True)
    assert (again.organisations_created, again.organisations_existing) == (0, 1578)
    real = import_cove(services.app, COVE, actor=IMPORTER)
    assert (real.organisations_created, real.organisations_existing) == (0, 1578)


def test_a_stopped_import_says_how_long_it_ran_and_a_flag_is_quoted_as_written(
    services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    header, *rows = sample()
    rows[0][header.index("Is Good Practice")] = "Taip"
    summary = import_erasmus(services.app, write(tmp_path / "flags.csv", [header, *rows[:1]]), actor=IMPORTER)
    assert "not 'Taip'" in summary.problems[0]["reason"]
    store_fails_at(monkeypatch, services.app, 2)
    with pytest.raises(ImportStopped) as stopped:
        import_erasmus(services.app, ERASMUS, actor=IMPORTER)
    assert stopped.value.summary.seconds > 0


def test_an_import_interrupted_from_the_keyboard_says_what_it_did_and_a_rerun_finishes_it(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from importers.common import Progress

    calls: list[int] = []
    update = Progress.update

    def interrupted(self: Progress, done: int, note: str = "") -> None:
        calls.append(done)
        if len(calls) == 3:
            raise KeyboardInterrupt
        update(self, done, note)

    monkeypatch.setattr(Progress, "update", interrupted)
    env = {"TRACKER_DATABASE_URL": sqlite_url}
    said = CliRunner().invoke(cli, ["import", "erasmus", str(ERASMUS)], env=env)
    assert said.exit_code == 130, said.output
    assert "3 rows: 3 created" in said.output
    assert "interrupted after 3 rows: the rows before it are imported; import the file again to finish" in said.output
    monkeypatch.setattr(Progress, "update", update)
    again = CliRunner().invoke(cli, ["import", "erasmus", str(ERASMUS)], env=env)
    assert again.exit_code == 0, again.output
    assert "9 rows: 6 created" in again.output
