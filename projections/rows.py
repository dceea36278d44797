"""A per-batch unit of work: rows are read at most once, changed in memory and written in bulk."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from functools import cache
from operator import itemgetter
from typing import Any
from uuid import UUID

from sqlalchemy import (
    Connection,
    Date,
    DateTime,
    Dialect,
    Float,
    Integer,
    Numeric,
    Select,
    Table,
    Uuid,
    and_,
    bindparam,
    select,
)

Key = tuple[Any, ...]
Processor = Callable[[Any], Any] | None


@cache
def _pk(table: Table) -> tuple[str, ...]:
    return tuple(c.name for c in table.primary_key.columns)


@cache
def _by_key(table: Table) -> Select[Any]:
    """The table's row by its primary key, its values bound as key_0, key_1, ...: built once per table, since building
    and caching a new statement for each look-up costs several times what running it does."""
    return select(table).where(*(column == bindparam(f"key_{n}") for n, column in enumerate(table.primary_key.columns)))


@cache
def _by_keys(table: Table) -> Select[Any]:
    """The rows of a single-column-key table whose keys are in the list bound as `keys`: built once per table."""
    (column,) = table.primary_key.columns
    return select(table).where(column.in_(bindparam("keys", expanding=True)))


# SQLAlchemy's format for a DATETIME on SQLite, which datetime.isoformat(" ", "microseconds") writes in C.
_SQLITE_DATETIME = "%(year)04d-%(month)02d-%(day)02d %(hour)02d:%(minute)02d:%(second)02d.%(microsecond)06d"


@cache
def _processors(table: Table, dialect: Dialect) -> dict[str, Processor]:
    """Each column's bind processor for this dialect: what SQLAlchemy itself applies to a parameter of that type.

    On SQLite a naive datetime in SQLAlchemy's default format is written by datetime.isoformat, which gives the same
    text: in a rebuild SQLAlchemy's formatting in Python is otherwise the largest cost of binding a row."""
    processors: dict[str, Processor] = {}
    for column in table.columns:
        impl = column.type.dialect_impl(dialect)
        process = impl.bind_processor(dialect)
        if process is not None and getattr(impl, "_storage_format", None) == _SQLITE_DATETIME:
            process = _sqlite_datetime(process)
        processors[column.name] = process
    return processors


def _sqlite_datetime(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def fast(value: Any) -> Any:
        if type(value) is datetime and value.tzinfo is None:
            return value.isoformat(" ", "microseconds")
        return process(value)

    return fast


def _one_type(kind: Any) -> Processor:
    """A conversion giving every value of a column of this type one Python type, or None when none is needed.

    psycopg refuses a list of mixed types (an int among floats, a float among Decimals), which one parameter per row
    never was: PostgreSQL converted each on its own."""
    if isinstance(kind, Float):
        return float
    if isinstance(kind, Numeric):
        return lambda value: value if isinstance(value, Decimal) else Decimal(str(value))
    if isinstance(kind, Integer):
        return int
    if isinstance(kind, Uuid):
        return lambda value: value if isinstance(value, UUID) else UUID(str(value))
    if isinstance(kind, Date) and not isinstance(kind, DateTime):
        return lambda value: value.date() if isinstance(value, datetime) else value
    return None


@cache
def _array_processors(table: Table, dialect: Dialect) -> dict[str, Processor]:
    """The bind processors for PostgreSQL's arrays: SQLAlchemy's, after a conversion to the column's one type."""
    plain = _processors(table, dialect)
    processors: dict[str, Processor] = {}
    for column in table.columns:
        process, convert = plain[column.name], _one_type(column.type)
        if process is not None and convert is not None:
            processors[column.name] = lambda value, p=process, c=convert: p(c(value))
        else:
            processors[column.name] = convert or process
    return processors


def _binder(processors: list[Processor]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """Turns a row's values, in statement order, into its parameters: only the columns with a processor are touched."""
    converting = [(i, p) for i, p in enumerate(processors) if p is not None]

    def bind(row: Sequence[Any]) -> tuple[Any, ...]:
        values = list(row)
        for i, process in converting:
            value = values[i]
            if value is not None:
                values[i] = process(value)
        return tuple(values)

    return bind


@cache
def _array_types(table: Table, dialect: Dialect) -> dict[str, str]:
    """Each column's type in SQL without its length, for the arrays a PostgreSQL batch is sent as.

    Without the length, so that a value too long for its column is refused by the insert as it would be from a
    plain parameter, not cut short by the cast."""
    return {c.name: re.sub(r"\(.*?\)", "", c.type.compile(dialect=dialect)) for c in table.columns}


class BulkWriter:
    """Many-row INSERTs, UPDATEs and counter upserts, written below SQLAlchemy's statement compiler.

    The statement is written once per column set and every row becomes a tuple bound by the same processors
    SQLAlchemy uses, which skips SQLAlchemy's per-row statement compilation: in a rebuild that compilation is
    otherwise the largest single cost per event.
    - On SQLite the rows go to the driver's executemany, which loops in C.
    - On PostgreSQL psycopg's executemany sends one query per row and spends more Python on each than the handlers
      spend on the event. So the rows go in one statement, as one array per column (`unnest`): INSERT ... SELECT
      FROM unnest(...), UPDATE ... FROM unnest(...). A single row goes as plain parameters: psycopg dumps an array
      in Python, element by element, and a live batch of one or two events writes mostly single rows.
    """

    def __init__(self, conn: Connection, *, collect: bool = False) -> None:
        self.conn = conn
        # With `collect`, the statements and their parameters are kept here in order instead of run: Rows.prepare
        # writes them out ahead, and Rows.flush runs them later, on another connection if need be.
        self.collect = collect
        self.statements: list[tuple[str, Any]] = []
        self.dialect = conn.dialect
        self.quote = conn.dialect.identifier_preparer.quote
        self.marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        self.arrays = conn.dialect.name == "postgresql"

    def _names(self, columns: tuple[str, ...]) -> str:
        return ", ".join(self.quote(c) for c in columns)

    def _as_arrays(self, rows: int) -> bool:
        """Whether this many rows go as arrays: on PostgreSQL, more than one."""
        return self.arrays and rows > 1

    def _binds(self, table: Table, arrays: bool) -> dict[str, Processor]:
        """Each column's bind processor, for rows sent as arrays or as plain parameters."""
        return (_array_processors if arrays else _processors)(table, self.dialect)

    def _rows(self, table: Table, columns: tuple[str, ...], arrays: bool) -> str:
        """The rows to write, in a statement: a VALUES row (for executemany, or one row), or arrays unnested."""
        if not arrays:
            return "VALUES (" + ", ".join(self.marker for _ in columns) + ")"
        return "SELECT * FROM " + self._unnest(table, columns)  # noqa: S608 - identifiers come from the table

    def _unnest(self, table: Table, columns: tuple[str, ...]) -> str:
        types = _array_types(table, self.dialect)
        return "unnest(" + ", ".join(f"CAST(%b AS {types[c]}[])" for c in columns) + ")"

    def _execute(self, statement: str, rows: list[tuple[Any, ...]], *, arrays: bool) -> None:
        """Run the statement for these rows (one array per column with `arrays`), or keep it."""
        if arrays:
            parameters: Any = tuple(list(column) for column in zip(*rows, strict=True))
        elif self.arrays and len(rows) == 1:
            parameters = rows[0]  # one execution, where a list would go through psycopg's executemany
        else:
            parameters = rows
        if self.collect:
            self.statements.append((statement, parameters))
        else:
            self.conn.exec_driver_sql(statement, parameters)

    def insert(self, table: Table, rows: list[dict[str, Any]]) -> None:
        by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            by_columns[tuple(row)].append(row)
        for columns, group in by_columns.items():
            arrays = self._as_arrays(len(group))
            processors = self._binds(table, arrays)
            statement = (
                f"INSERT INTO {self.quote(table.name)} ({self._names(columns)}) {self._rows(table, columns, arrays)}"
            )
            bind = _binder([processors[c] for c in columns])
            values = itemgetter(*columns)
            if len(columns) == 1:
                self._execute(statement, [bind((values(row),)) for row in group], arrays=arrays)
            else:
                self._execute(statement, [bind(values(row)) for row in group], arrays=arrays)

    def update(self, table: Table, updates: dict[Key, dict[str, Any]]) -> None:
        pk = _pk(table)
        by_columns: dict[tuple[str, ...], list[tuple[Key, dict[str, Any]]]] = defaultdict(list)
        for key, values in updates.items():
            by_columns[tuple(sorted(values))].append((key, values))
        name = self.quote(table.name)
        for columns, group in by_columns.items():
            every = (*columns, *pk)
            arrays = self._as_arrays(len(group))
            processors = self._binds(table, arrays)
            if arrays:
                statement = "UPDATE {} SET {} FROM {} AS v ({}) WHERE {}".format(  # noqa: S608 - as above
                    name,
                    ", ".join(f"{self.quote(c)} = v.{self.quote(c)}" for c in columns),
                    self._unnest(table, every),
                    self._names(every),
                    " AND ".join(f"{name}.{self.quote(c)} = v.{self.quote(c)}" for c in pk),
                )
            else:
                statement = "UPDATE {} SET {} WHERE {}".format(  # noqa: S608 - identifiers come from the table
                    name,
                    ", ".join(f"{self.quote(c)} = {self.marker}" for c in columns),
                    " AND ".join(f"{self.quote(c)} = {self.marker}" for c in pk),
                )
            bind = _binder([processors[c] for c in every])
            self._execute(
                statement, [bind([*(values[c] for c in columns), *key]) for key, values in group], arrays=arrays
            )

    def add(self, table: Table, counts: dict[Key, tuple[dict[str, int], dict[str, Any]]]) -> None:
        """Add each key's amounts to its row's counters, creating a missing row with its initial columns, then
        delete the rows counted down to zero. Every key must carry the same initial columns."""
        if not counts:
            return
        pk = _pk(table)
        counters = tuple(sorted({column for amounts, _ in counts.values() for column in amounts}))
        extra = tuple(sorted(next(iter(counts.values()))[1]))
        columns = (*pk, *extra, *counters)
        name = self.quote(table.name)
        arrays = self._as_arrays(len(counts))
        statement = "INSERT INTO {} ({}) {} ON CONFLICT ({}) DO UPDATE SET {}".format(
            name,
            self._names(columns),
            self._rows(table, columns, arrays),
            self._names(pk),
            ", ".join(f"{self.quote(c)} = {name}.{self.quote(c)} + excluded.{self.quote(c)}" for c in counters),
        )
        processors = self._binds(table, arrays)
        bind = _binder([processors[c] for c in columns])
        self._execute(
            statement,
            [
                bind([*key, *(values[c] for c in extra), *(amounts.get(c, 0) for c in counters)])
                for key, (amounts, values) in counts.items()
            ],
            arrays=arrays,
        )
        # Only a row that was counted down can have reached zero.
        emptied = [key for key, (amounts, _) in counts.items() if any(amount < 0 for amount in amounts.values())]
        if emptied:
            statement = "DELETE FROM {} WHERE {} AND {}".format(  # noqa: S608 - identifiers come from the table
                name,
                " AND ".join(f"{self.quote(c)} = {self.marker}" for c in pk),
                " AND ".join(f"{self.quote(c)} = 0" for c in counters),
            )
            plain = self._binds(table, False)
            bind = _binder([plain[c] for c in pk])
            self._execute(statement, [bind(list(key)) for key in emptied], arrays=False)


class Rows:
    """Inserts, updates, deletes and counts gathered during one batch, flushed in one go: the deletions first, then
    the inserts, updates and counts (written out by prepare())."""

    def __init__(
        self,
        conn: Connection,
        constants: dict[tuple[str, Key], dict[str, Any]] | None = None,
        *,
        counts_deferred: bool = False,
    ) -> None:
        self.conn = conn
        # During a rebuild the running counts are left alone and counted once at its end (projections.deferred).
        self.counts_deferred = counts_deferred
        # Rows that never change once written (organisations, ecosystems), shared across batches.
        self.constants = constants if constants is not None else {}
        self._cache: dict[tuple[str, Key], dict[str, Any] | None] = {}
        self._inserts: dict[str, dict[Key, dict[str, Any]]] = defaultdict(dict)
        self._updates: dict[str, dict[Key, dict[str, Any]]] = defaultdict(dict)
        self._deletes: list[tuple[Table, dict[str, Any]]] = []
        self._counts: dict[str, dict[Key, tuple[dict[str, int], dict[str, Any]]]] = defaultdict(dict)
        self._tables: dict[str, Table] = {}
        # The inserts, updates and counts written out as statements by prepare(), waiting for flush() to run them.
        self._prepared: list[tuple[str, Any]] = []

    def get(self, table: Table, *key: Any) -> dict[str, Any] | None:
        """The row with this primary key, as the batch has left it so far."""
        cache_key = (table.name, key)
        if cache_key not in self._cache:
            if len(key) != len(table.primary_key.columns):
                raise TypeError(f"{table.name} is keyed by {_pk(table)}, not by {len(key)} values")
            values = {f"key_{n}": value for n, value in enumerate(key)}
            found = self.conn.execute(_by_key(table), values).mappings().first()
            self._cache[cache_key] = dict(found) if found is not None else None
        return self._cache[cache_key]

    def prefetch(self, table: Table, keys: set[Any]) -> None:
        """Load many rows of a single-column-key table with one query."""
        (pk,) = _pk(table)
        wanted = [k for k in keys if (table.name, (k,)) not in self._cache]
        for chunk_start in range(0, len(wanted), 500):
            chunk = wanted[chunk_start : chunk_start + 500]
            for row in self.conn.execute(_by_keys(table), {"keys": chunk}).mappings():
                self._cache[(table.name, (row[pk],))] = dict(row)
            for key in chunk:
                self._cache.setdefault((table.name, (key,)), None)

    def constant(self, table: Table, key: Any, columns: tuple[str, ...]) -> dict[str, Any] | None:
        """Columns of a row that never changes, remembered across batches."""
        found = self.constants.get((table.name, (key,)))
        if found is None:
            row = self.get(table, key)
            if row is None:
                return None
            found = {c: row[c] for c in columns}
            self.constants[(table.name, (key,))] = found
        return found

    def insert(self, table: Table, row: dict[str, Any]) -> dict[str, Any]:
        self._tables[table.name] = table
        key = tuple(row[name] for name in _pk(table))
        self._inserts[table.name][key] = row
        self._cache[(table.name, key)] = row
        return row

    def update(self, table: Table, key: Key, **values: Any) -> None:
        """Change a row; a row inserted in this batch is changed before it is written."""
        self._tables[table.name] = table
        pending = self._inserts[table.name].get(key)
        if pending is not None:
            pending.update(values)
            return
        cached = self._cache.get((table.name, key))
        if cached is not None:
            cached.update(values)
        self._updates[table.name].setdefault(key, {}).update(values)

    def delete_where(self, table: Table, **equals: Any) -> None:
        """Delete stored rows matching `equals`, and any matching rows pending insert."""
        if self._prepared:
            # flush() runs deletions before the prepared statements, so this one could not reach the rows they insert.
            raise RuntimeError("delete_where after prepare(): gather every change of the batch before preparing it")
        self._tables[table.name] = table
        pending = self._inserts[table.name]
        for key in [k for k, row in pending.items() if all(row[c] == v for c, v in equals.items())]:
            del pending[key]
            self._cache.pop((table.name, key), None)
        self._deletes.append((table, equals))

    def add(self, table: Table, key: Key, counts: dict[str, int], **initial: Any) -> None:
        """Add `counts` to a row's counters without reading it: the row is created with `initial` if missing, and
        deleted once every counter is back to zero. Pass the same counters and initial columns for every row."""
        self._tables[table.name] = table
        pending = self._counts[table.name].get(key)
        if pending is None:
            self._counts[table.name][key] = (dict(counts), initial)
            return
        for column, amount in counts.items():
            pending[0][column] = pending[0].get(column, 0) + amount

    def prepare(self) -> None:
        """Write out the statements for the inserts, updates and counts gathered so far (grouping the rows, binding
        their values), so that flush() has only to run them. Call it once the batch's handlers are done."""
        bulk = BulkWriter(self.conn, collect=True)
        for name, rows in self._inserts.items():
            if rows:
                bulk.insert(self._tables[name], list(rows.values()))
        for name, updates in self._updates.items():
            if updates:
                bulk.update(self._tables[name], updates)
        for name, counts in self._counts.items():
            bulk.add(self._tables[name], {key: pending for key, pending in counts.items() if any(pending[0].values())})
        self._prepared.extend(bulk.statements)
        self._inserts.clear()
        self._updates.clear()
        self._counts.clear()

    def flush(self, conn: Connection | None = None) -> None:
        """Write everything gathered, on `conn` if given (a batch may read on one connection and write on another):
        the deletions, then the rest as prepare() wrote it out (now, if it was not called)."""
        conn = conn if conn is not None else self.conn
        self.prepare()
        for table, equals in self._deletes:
            conn.execute(table.delete().where(and_(*(table.c[c] == v for c, v in equals.items()))))
        for statement, parameters in self._prepared:
            conn.exec_driver_sql(statement, parameters)
        self._deletes.clear()
        self._prepared.clear()
