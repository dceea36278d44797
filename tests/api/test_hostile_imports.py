"""Import files that are not what they claim: every source and format is refused whole with a 422 problem naming
what is wrong, writes nothing, and never answers 500; the command line says the same and exits non-zero."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from cli.main import main as cli
from tests.api.conftest import Env, make_env, position

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
HEADER = ["Project Identifier", "Project Title", "Coordinating organisation name", "Coordinator's country"]


def workbook(rows: list[list[Any]] | None = None) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows or [HEADER, ["2020-1-X", "A project", "A school", "Lithuania"]]:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def with_sheet(xml: bytes) -> bytes:
    """A real workbook whose first sheet's XML is replaced."""
    source = zipfile.ZipFile(io.BytesIO(workbook()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = xml if item.filename == "xl/worksheets/sheet1.xml" else source.read(item.filename)
            target.writestr(item, data)
    return out.getvalue()


SHEET = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>%s</sheetData></worksheet>'
EXTERNAL_ENTITY = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + SHEET % (
    b'<row r="1"><c r="A1" t="inlineStr"><is><t>&e;</t></is></c></row>'
)
LAUGHS = b"".join(b'<!ENTITY l%d "%s">' % (n, b"&l%d;" % (n - 1) * 10 if n else b"lol") for n in range(10))
ENTITY_EXPANSION = (
    b'<?xml version="1.0"?><!DOCTYPE x ['
    + LAUGHS
    + b"]>"
    + SHEET % (b'<row r="1"><c r="A1" t="inlineStr"><is><t>&l9;</t></is></c></row>')
)
TEXT_CELL = b'<c r="%s" t="inlineStr"><is><t>%s</t></is></c>'
GOOD_HEADER = (
    b'<row r="1">'
    + b"".join(TEXT_CELL % (f"{column}1".encode(), name.encode()) for column, name in zip("ABCD", HEADER, strict=True))
    + b"</row>"
)
BAD_NUMBER = b'<c r="%s" t="n"><v>abc</v></c>'
EMPTY_ZIP = io.BytesIO()
with zipfile.ZipFile(EMPTY_ZIP, "w") as _zip:
    _zip.writestr("hello.txt", "no workbook here")

HOSTILE = {
    "random bytes named .xlsx": ("erasmus", "export.xlsx", bytes(range(256)) * 40, "not a readable Excel workbook"),
    "a zip without a workbook": ("erasmus", "export.xlsx", EMPTY_ZIP.getvalue(), "not a readable Excel workbook"),
    "a sheet with an external entity": ("erasmus", "export.xlsx", with_sheet(EXTERNAL_ENTITY), "export.xlsx"),
    "a sheet with nested entity expansion": ("erasmus", "export.xlsx", with_sheet(ENTITY_EXPANSION), "export.xlsx"),
    "a workbook without the export's columns": (
        "erasmus",
        "export.xlsx",
        workbook([["Name", "Country"], ["A school", "Lithuania"]]),
        "lacks the columns Project Identifier",
    ),
    "a password file as CSV": ("erasmus", "export.csv", Path("/etc/passwd").read_bytes(), "lacks the columns"),
    "a CSV in UTF-16": ("erasmus", "export.csv", "Projekt;Größe\n".encode("utf-16"), "is in UTF-16"),
    "a CSV not in UTF-8": ("erasmus", "export.csv", "Projekt;Größe\n".encode("cp1252"), "not a CSV file in UTF-8"),
    "an empty CSV": ("erasmus", "export.csv", b"", "export.csv is empty"),
    "a header row that does not parse": (
        "erasmus",
        "export.xlsx",
        with_sheet(SHEET % (b'<row r="1">' + BAD_NUMBER % b"A1" + b"</row>")),
        "has no readable first sheet",
    ),
    "JSON that is not a list": ("cove", "cove.json", b'{"projects": []}', "must hold a JSON list"),
    "bytes that are not JSON": ("cove", "cove.json", b"\x00\x01PK", "not a readable JSON file"),
}


@pytest.fixture(scope="module")
def admin_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    environment = make_env(f"sqlite:///{tmp_path_factory.mktemp('imports')}/tracker.db")
    yield environment
    environment.app.extensions["tracker"].close()


def upload(env: Env, source: str, name: str, content: bytes) -> Any:
    return env.post(
        "/api/v1/imports",
        env.keys.admin,
        data={"source": source, "file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_an_import_file_that_is_not_what_it_claims_is_refused_422_and_writes_nothing(admin_env: Env, case: str) -> None:
    source, name, content, says = HOSTILE[case]
    before = position(admin_env)
    response = upload(admin_env, source, name, content)
    assert response.status_code == 422, (case, response.status_code, response.get_data(as_text=True)[:300])
    assert response.content_type == "application/problem+json"
    assert says in response.json["detail"]
    assert response.json["errors"]["file"]
    assert position(admin_env) == before


@given(
    content=st.binary(max_size=4096),
    kind=st.sampled_from([("erasmus", "x.xlsx"), ("erasmus", "x.xlsm"), ("erasmus", "x.csv"), ("cove", "x.json")]),
)
@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_generated_import_files_never_answer_500(admin_env: Env, content: bytes, kind: tuple[str, str]) -> None:
    source, name = kind
    response = upload(admin_env, source, name, content)
    assert response.status_code in (200, 422), response.get_data(as_text=True)[:300]
    assert response.content_type in ("application/json", "application/problem+json")


def test_a_workbook_that_breaks_after_its_header_keeps_what_was_read_and_reports_the_rest(admin_env: Env) -> None:
    good = (
        b'<row r="2">'
        + b"".join(
            TEXT_CELL % (f"{c}2".encode(), v)
            for c, v in zip("ABCD", (b"2020-1-OK", b"Read", b"A school", b"Lithuania"), strict=True)
        )
        + b"</row>"
    )
    broken = b'<row r="3">' + BAD_NUMBER % b"A3" + b"</row>"
    response = upload(admin_env, "erasmus", "export.xlsx", with_sheet(SHEET % (GOOD_HEADER + good + broken)))
    assert response.status_code == 200, response.json
    assert response.json["created"] == 1
    assert "unreadable file from here on" in response.json["problems"][-1]["reason"]


def test_a_csv_that_breaks_after_its_first_rows_is_refused_whole_naming_the_line(admin_env: Env) -> None:
    sample = (SHARED / "erasmus-plus-projects-sample.csv").read_bytes()
    header, *rows = sample.splitlines(keepends=True)
    # Past the text decoder's first read, a byte that is not UTF-8: a file saved in another encoding.
    content = header + b"".join(rows) * 8 + b"\xff\xfe broken\n"
    assert len(content) > 16 * 1024
    before = position(admin_env)
    response = upload(admin_env, "erasmus", "export.csv", content)
    assert response.status_code == 422, response.json
    last = content.count(b"\n")
    assert f"line {last} has the bytes ff after ''" in response.json["detail"]
    assert position(admin_env) == before


def test_the_command_line_names_the_missing_columns_and_exits_non_zero_for_a_file_that_is_no_export(
    sqlite_url: str,
) -> None:
    runner = CliRunner()
    env = {"TRACKER_DATABASE_URL": sqlite_url}
    assert runner.invoke(cli, ["db", "upgrade"], env=env).exit_code == 0
    result = runner.invoke(cli, ["import", "erasmus", "/etc/passwd"], env=env)
    assert result.exit_code != 0
    assert "lacks the columns Project Identifier, Project Title" in result.output
    assert "nothing changed" not in result.output


def test_the_command_line_exits_non_zero_when_every_row_is_rejected(sqlite_url: str, tmp_path: Path) -> None:
    rejected = tmp_path / "export.csv"
    rejected.write_text(",".join(HEADER) + "\n,,,\n,,,\n", encoding="utf-8")
    runner = CliRunner()
    env = {"TRACKER_DATABASE_URL": sqlite_url}
    assert runner.invoke(cli, ["db", "upgrade"], env=env).exit_code == 0
    result = runner.invoke(cli, ["import", "erasmus", str(rejected)], env=env)
    assert result.exit_code == 1
    assert "nothing imported: all 2 rows were rejected" in result.output


def test_the_real_export_still_imports_from_the_command_line(sqlite_url: str) -> None:
    runner = CliRunner()
    env = {"TRACKER_DATABASE_URL": sqlite_url}
    assert runner.invoke(cli, ["db", "upgrade"], env=env).exit_code == 0
    result = runner.invoke(cli, ["import", "erasmus", str(SHARED / "erasmus-plus-projects-sample.csv")], env=env)
    assert result.exit_code == 0, result.output
    assert "9 created" in result.output
