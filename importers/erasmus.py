"""The Erasmus+ "Projects_Overview" export (CSV or XLSX), streamed row by row: projects become ecosystems."""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from importers.common import Interrupted, Outcome, Progress, RowError, Summary, Writer, call_year, country_from_name
from tracker import limits
from tracker.actors import Actor
from tracker.application import TrackerApplication

GRANT_PREFIX = "eu grant award in euros"
# The export's columns every row needs; a file without them is not an Erasmus+ export.
REQUIRED_COLUMNS = ("Project Identifier", "Project Title", "Coordinating organisation name", "Coordinator's country")
_PARTNER = re.compile(r"^partner (\d+) name$", re.IGNORECASE)
# An amount as the export writes it (136836.00), or as a spreadsheet in a European locale saves it: a decimal comma
# (136836,00), its thousands grouped by dots or spaces (136.836,00, 136 836,00). The export has no amounts with
# three decimals, so "1.234" can only be thousands grouped: 1,234 euros.
_MONEY = re.compile(r"^\d{1,12}(\.\d{1,2})?$")
_MONEY_EUROPEAN = re.compile(r"^(\d{1,12}|\d{1,3}([. \u00a0\u202f]\d{3}){1,3})(,\d{1,2})?$")
_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0", ""}

# The export's free-text organisation types, matched in order, mapped onto the tracker's kinds.
KINDS = (
    ("vocational", "vet_provider"),
    ("higher education", "higher_education"),
    ("university", "higher_education"),
    ("research", "research"),
    ("chamber", "chamber"),
    ("non-governmental", "ngo"),
    ("non profit", "ngo"),
    ("non-profit", "ngo"),
    ("association", "ngo"),
    ("foundation", "ngo"),
    ("public body", "public_authority"),
    ("public authority", "public_authority"),
    ("ministry", "public_authority"),
    ("enterprise", "company"),
    ("company", "company"),
    ("sme", "company"),
)


def organisation_kind(export_type: str) -> str:
    text = export_type.casefold()
    for needle, kind in KINDS:
        if needle in text:
            return kind
    return "other"


@dataclass(frozen=True)
class RowFilter:
    """`COLUMN=VALUE` keeps rows whose column equals VALUE; `COLUMN~TEXT` keeps rows whose column contains TEXT."""

    column: str
    value: str
    contains: bool

    @classmethod
    def parse(cls, text: str) -> RowFilter:
        for op in ("~", "="):
            if op in text:
                column, value = text.split(op, 1)
                if column.strip() and value.strip():
                    return cls(column.strip(), value.strip(), op == "~")
        raise ValueError(f"filter {text!r} must look like 'Action Type=…' or 'Key Action~vocational'")

    def keeps(self, row: dict[str, str]) -> bool:
        actual = _lookup(row, self.column).casefold()
        wanted = self.value.casefold()
        return wanted in actual if self.contains else actual == wanted


def _check_filter_columns(filters: list[RowFilter], row: dict[str, str], source: str) -> None:
    """A filter on a column the file does not have would keep no row, and the import would look like one of a file
    imported already: refused before anything is imported."""
    names = {key.strip().casefold() for key in row}
    for wanted in filters:
        if wanted.column.strip().casefold() not in names:
            raise RowError("filter_column", file=source, column=repr(wanted.column))


def _lookup(row: dict[str, str], column: str) -> str:
    wanted = column.strip().casefold()
    for key, value in row.items():
        if key.strip().casefold() == wanted:
            return value or ""
    return ""


class UnreadableRest(ValueError):
    """The file could be read up to a row, and not beyond it."""


# A cell of an export can hold a long project summary, and the csv module's default limit (128 KiB) would end the
# file there. This bound still stops a quote left open from reading the rest of the file into one cell.
FIELD_LIMIT = 16 * 1024 * 1024
csv.field_size_limit(max(csv.field_size_limit(), FIELD_LIMIT))
# What separates the cells: the export's commas, or the semicolons (and tabs) of a spreadsheet saved in a European
# locale. The one that finds the most of the required columns in the header wins; commas on a tie.
DELIMITERS = (",", ";", "\t")
_CHUNK = 1 << 20
# Files saved as something else than CSV in UTF-8, known by their first bytes: said as what they are.
_NOT_TEXT = (
    (b"\xff\xfe", "utf16"),
    (b"\xfe\xff", "utf16"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "xls"),
    (b"PK\x03\x04", "zip_as_csv"),
)
# The header is read alone first, to find the delimiter: a first line longer than this is no export's header.
_HEADER_MAX = 1 << 20


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, str], float, RowError | None]]:
    """Rows as dicts with their 1-based data row number, the fraction of the file read and what is wrong with the
    row's shape (None when nothing is); never the whole file in memory.

    A file that is not an export (not CSV in UTF-8 or an Excel workbook, without the export's columns, or naming a
    column twice) is refused with a RowError before any row is read; so is a CSV with a byte that is not UTF-8
    anywhere in it, so that a file saved in another encoding is never half imported. A row with fewer cells than the
    header has the rest empty (spreadsheets leave out trailing empty cells); one with more, not all empty, is
    misaligned and comes with its problem. A workbook that breaks part way raises UnreadableRest there."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        yield from _xlsx_rows(path)
        return
    _check_utf8(path)
    size = max(path.stat().st_size, 1)
    with path.open("rb") as raw:
        if not raw.read(1):
            raise RowError("empty_file", file=path.name)
        raw.seek(0)
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        try:
            delimiter = _delimiter(text.readline(_HEADER_MAX))
            text.seek(0)
            reader = csv.DictReader(text, delimiter=delimiter)
            names = reader.fieldnames
        except csv.Error as exc:
            raise RowError("not_csv", file=path.name, detail=f"{type(exc).__name__}: {exc}") from None
        check_columns(path.name, names or [])
        width = len(names or [])
        try:
            for number, row in enumerate(reader, 1):
                extra = [cell for cell in row.pop(None, None) or [] if cell.strip()]  # type: ignore[call-overload]
                problem = RowError("cells", cells=width + len(extra), header=width) if extra else None
                yield number, {k: (v or "") for k, v in row.items()}, raw.tell() / size, problem
        except csv.Error as exc:
            raise UnreadableRest(str(exc)) from None


def _check_utf8(path: Path) -> None:
    """Refuse a CSV with any byte that is not UTF-8, naming its line (ended by LF, CRLF or a lone CR) and what comes
    before the byte on that line. Read in chunks; a character cut by a chunk's end is carried to the next."""
    line = 1
    tail = b""  # the current line's bytes before the chunk, for what comes before a bad byte
    carry = b""
    after_cr = False  # the data read so far ended with a CR (of a CRLF cut by a chunk's end, perhaps)
    with path.open("rb") as raw:
        while True:
            at_start = raw.tell() == 0
            chunk = raw.read(max(_CHUNK, 8) if at_start else _CHUNK)
            for signature, code in _NOT_TEXT if at_start else ():  # a format known by its first bytes
                if chunk.startswith(signature):
                    raise RowError(code, file=path.name)
            buffer = carry + chunk
            try:
                buffer.decode("utf-8")
                good, carry = buffer, b""
            except UnicodeDecodeError as exc:
                if chunk and exc.reason == "unexpected end of data":  # cut by the chunk's end: read on
                    good, carry = buffer[: exc.start], buffer[exc.start :]
                else:
                    seen = tail + buffer[: exc.start]
                    line += _line_ends(buffer[: exc.start], after_cr=after_cr)
                    before = _last_line(seen).decode("utf-8", "replace")[-40:]
                    bad = buffer[exc.start : exc.end].hex(" ")
                    raise RowError("not_utf8", file=path.name, line=line, byte=bad, before=repr(before)) from None
            if not chunk:
                return
            line += _line_ends(good, after_cr=after_cr)
            after_cr = good.endswith(b"\r") or (after_cr and not good)
            tail = _last_line(tail + good)[-200:]


def _line_ends(data: bytes, *, after_cr: bool) -> int:
    """Line ends in `data`: LF, CRLF and lone CRs; an LF just after a CR that ended the data before is that CR's."""
    crlf = data.count(b"\r\n") + (1 if after_cr and data.startswith(b"\n") else 0)
    return data.count(b"\n") + data.count(b"\r") - crlf


def _last_line(data: bytes) -> bytes:
    return data[max(data.rfind(b"\n"), data.rfind(b"\r")) + 1 :]


def _delimiter(header: str) -> str:
    """The delimiter with which the header names the most of the required columns; commas on a tie."""

    def found(delimiter: str) -> int:
        cells = next(csv.reader([header], delimiter=delimiter), [])
        return len(REQUIRED_COLUMNS) - len(_missing(cells))

    return max(DELIMITERS, key=found)  # max keeps the first of equals


def _missing(columns: list[str] | tuple[str, ...]) -> list[str]:
    present = {column.strip().casefold() for column in columns if column}
    return [column for column in REQUIRED_COLUMNS if column.casefold() not in present]


def check_columns(name: str, columns: list[str] | tuple[str, ...]) -> None:
    """Refuse a file whose header lacks any of the export's required columns, or names a column twice (which of the
    two would a row's value come from?), naming them."""
    missing = _missing(columns)
    if missing:
        raise RowError("columns", file=name, columns=", ".join(missing))
    seen: set[str] = set()
    twice = []
    for column in columns:
        key = (column or "").strip().casefold()
        if key and key in seen and column.strip() not in twice:
            twice.append(column.strip())
        seen.add(key)
    if twice:
        raise RowError("columns_twice", file=name, columns=", ".join(twice))


def _xlsx_rows(path: Path) -> Iterator[tuple[int, dict[str, str], float, RowError | None]]:
    from openpyxl import load_workbook

    # The file is opened here, not by openpyxl, so it is closed however the workbook fails to load or to read.
    with path.open("rb") as handle:
        try:
            workbook = load_workbook(handle, read_only=True, data_only=True)
        except Exception as exc:  # whatever the bytes, a file that does not open is refused whole
            raise RowError("not_xlsx", file=path.name, detail=f"{type(exc).__name__}: {exc}") from None
        rows: Iterator[tuple[Any, ...]] | None = None
        try:
            try:
                sheet = workbook.worksheets[0]
                total = max(sheet.max_row or 1, 1)
                rows = sheet.iter_rows(values_only=True)
                header = next(rows, None)
            except Exception as exc:  # a sheet whose XML does not parse (or is refused) is no export
                raise RowError("no_sheet", file=path.name, detail=f"{type(exc).__name__}: {exc}") from None
            if header is None:
                raise RowError("no_header", file=path.name)
            names = [str(h).strip() if h is not None else "" for h in header]
            check_columns(path.name, names)
            width = max((n + 1 for n, name in enumerate(names) if name), default=0)
            try:
                for number, values in enumerate(rows, 1):
                    row = {n: _cell_text(v) for n, v in zip(names, values, strict=False) if n}
                    # Cells past the header's last, not all empty: misaligned, as in a CSV. (A sheet's rows are as
                    # wide as its widest, the header's included.)
                    extra = [v for v in values[width:] if _cell_text(v).strip()]
                    problem = RowError("cells", cells=width + len(extra), header=width) if extra else None
                    yield number, row, number / total, problem
            except Exception as exc:  # the sheet breaks part way: what was read stands
                raise UnreadableRest(f"{type(exc).__name__}: {exc}") from None
        finally:
            if rows is not None:
                rows.close()  # type: ignore[attr-defined]
            workbook.close()


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def import_erasmus(
    app: TrackerApplication,
    path: str | Path,
    *,
    actor: Actor,
    filters: list[RowFilter] | None = None,
    source_name: str | None = None,
    progress: Progress | None = None,
    dry_run: bool = False,
) -> Summary:
    path = Path(path)
    source = source_name or path.name
    summary = Summary(source=source, dry_run=dry_run)
    writer = Writer(app, actor, source, dry_run=dry_run)
    started = time.perf_counter()
    try:
        for number, row, fraction, problem in read_rows(path):
            summary.rows += 1
            if summary.rows == 1:
                _check_filter_columns(filters or [], row, path.name)
            if filters and not all(f.keeps(row) for f in filters):
                summary.skipped += 1
            elif problem is not None:
                summary.reject(number, problem, project=_lookup(row, "Project Identifier").strip())
            else:
                summary.record(
                    number,
                    lambda number=number, row=row: _import_row(writer, summary, number, row),
                    project=_lookup(row, "Project Identifier").strip(),
                )
            if progress is not None:
                progress.update(int(fraction * progress.total), f"rows {summary.rows}, rejected {summary.rejected}")
    except UnreadableRest as exc:
        summary.reject(summary.rows + 1, RowError("unreadable_rest", detail=exc))
    except KeyboardInterrupt:
        raise Interrupted(summary) from None
    finally:  # a stopped import says how long it ran, as a finished one does
        summary.seconds = time.perf_counter() - started
    return summary


def _flag(row: dict[str, str], column: str) -> bool:
    written = _lookup(row, column).strip()
    if written.casefold() in _YES:
        return True
    if written.casefold() in _NO:
        return False
    raise RowError("flag", column=column, value=repr(written))


def _grant(row: dict[str, str]) -> Decimal | None:
    column = next((k for k in row if k.strip().casefold().startswith(GRANT_PREFIX)), None)
    raw = (row.get(column) or "").strip() if column else ""
    if not raw:
        return None
    if _MONEY.match(raw):
        return Decimal(raw)
    if _MONEY_EUROPEAN.match(raw):
        whole, _, cents = raw.partition(",")
        return Decimal(re.sub(r"\D", "", whole) + "." + (cents or "0"))
    raise RowError("grant", value=repr(raw))


def _import_row(writer: Writer, summary: Summary, number: int, row: dict[str, str]) -> Outcome:
    identifier = _lookup(row, "Project Identifier").strip()
    title = _lookup(row, "Project Title").strip()
    if not identifier:
        raise RowError("empty", column="Project Identifier")
    if not title:
        raise RowError("empty", column="Project Title")
    year = call_year(_lookup(row, "Call year").strip(), "Call year")
    people = [
        (
            _lookup(row, "Coordinating organisation name"),
            _lookup(row, "Coordinator's country"),
            _lookup(row, "Coordinating organisation type"),
            "coordinator",
        )
    ]
    partner_numbers = sorted(int(m.group(1)) for k in row if (m := _PARTNER.match(k.strip())))
    for n in partner_numbers:
        name = _lookup(row, f"Partner {n} name").strip()
        if name:
            people.append(
                (name, _lookup(row, f"Partner {n} country"), _lookup(row, f"Partner {n} organisation type"), "partner")
            )
    if not people[0][0].strip():
        raise RowError("empty", column="Coordinating organisation name")
    parsed = []
    for name, country, kind, role in people:
        if not country.strip():
            raise RowError("no_country", value=repr(name.strip()))
        parsed.append((name.strip(), country_from_name(country), organisation_kind(kind), role))
    details = {
        "acronym": identifier[: limits.ACRONYM_MAX],
        "title": title[: limits.ECOSYSTEM_TITLE_MAX],
        "programme": _lookup(row, "Programme").strip() or None,
        "key_action": _lookup(row, "Key Action").strip() or None,
        "action_type": _lookup(row, "Action Type").strip() or None,
        "project_identifier": identifier,
        "call_year": year,
        "eu_grant_eur": _grant(row),
        "is_good_practice": _flag(row, "Is Good Practice"),
        "is_success_story": _flag(row, "Is Success Story"),
    }
    writer.check(
        [({"name": name, "country": country, "kind": kind}, role) for name, country, kind, role in parsed], details
    )
    members: list[tuple[Any, str]] = []
    for name, country, kind, role in parsed:
        org_id = writer.organisation(summary, number, name=name, country=country, kind=kind)
        if not any(m == (org_id, role) for m in members):
            members.append((org_id, role))
    # The acronym is made from the identifier (the export has none): it is not the file's to differ in.
    return writer.ecosystem(summary, number, members, derived=("acronym",), **details)
