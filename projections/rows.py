"""A per-batch unit of work: rows are read at most once, changed in memory and written in bulk."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from functools import cache
from typing import Any

from sqlalchemy import Connection, Dialect, Table, and_, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

Key = tuple[Any, ...]
Processor = Callable[[Any], Any] | None


@cache
def _pk(table: Table) -> tuple[str, ...]:
    return tuple(c.name for c in table.primary_key.columns)


@cache
def _processors(table: Table, dialect: Dialect) -> dict[str, Processor]:
    """Each column's bind processor for this dialect: what SQLAlchemy itself applies to a parameter of that type."""
    return {c.name: c.type.dialect_impl(dialect).bind_processor(dialect) for c in table.columns}


def _binder(processors: list[Processor]) -> Callable[[list[Any]], tuple[Any, ...]]:
    """Turns a row's values, in statement order, into its parameters: only the columns with a processor are touched."""
    converting = [(i, p) for i, p in enumerate(processors) if p is not None]

    def bind(values: list[Any]) -> tuple[Any, ...]:
        for i, process in converting:
            value = values[i]
            if value is not None:
                values[i] = process(value)
        return tuple(values)

    return bind


class BulkWriter:
    """Many-row INSERTs and UPDATEs as one driver-level executemany each.

    The statement is written once per column set and every row becomes a tuple bound by the same processors
    SQLAlchemy uses, which skips SQLAlchemy's per-row statement compilation: in a rebuild that was the largest
    single cost per event.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect
        self.quote = conn.dialect.identifier_preparer.quote
        self.marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"

    def insert(self, table: Table, rows: list[dict[str, Any]]) -> None:
        by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            by_columns[tuple(row)].append(row)
        processors = _processors(table, self.dialect)
        for columns, group in by_columns.items():
            statement = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 - identifiers come from the table
                self.quote(table.name),
                ", ".join(self.quote(c) for c in columns),
                ", ".join(self.marker for _ in columns),
            )
            bind = _binder([processors[c] for c in columns])
            self.conn.exec_driver_sql(statement, [bind([row[c] for c in columns]) for row in group])

    def update(self, table: Table, updates: dict[Key, dict[str, Any]]) -> None:
        pk = _pk(table)
        by_columns: dict[tuple[str, ...], list[tuple[Key, dict[str, Any]]]] = defaultdict(list)
        for key, values in updates.items():
            by_columns[tuple(sorted(values))].append((key, values))
        processors = _processors(table, self.dialect)
        for columns, group in by_columns.items():
            statement = "UPDATE {} SET {} WHERE {}".format(  # noqa: S608 - identifiers come from the table
                self.quote(table.name),
                ", ".join(f"{self.quote(c)} = {self.marker}" for c in columns),
                " AND ".join(f"{self.quote(c)} = {self.marker}" for c in pk),
            )
            bind = _binder([processors[c] for c in (*columns, *pk)])
            self.conn.exec_driver_sql(statement, [bind([*(values[c] for c in columns), *key]) for key, values in group])


class Rows:
    """Inserts, updates, deletes and counts gathered during one batch, flushed in one go (in that order)."""

    def __init__(self, conn: Connection, constants: dict[tuple[str, Key], dict[str, Any]] | None = None) -> None:
        self.conn = conn
        # Rows that never change once written (organisations, ecosystems), shared across batches.
        self.constants = constants if constants is not None else {}
        self._cache: dict[tuple[str, Key], dict[str, Any] | None] = {}
        self._inserts: dict[str, dict[Key, dict[str, Any]]] = defaultdict(dict)
        self._updates: dict[str, dict[Key, dict[str, Any]]] = defaultdict(dict)
        self._deletes: list[tuple[Table, dict[str, Any]]] = []
        self._counts: dict[str, dict[Key, tuple[dict[str, int], dict[str, Any]]]] = defaultdict(dict)
        self._tables: dict[str, Table] = {}

    def get(self, table: Table, *key: Any) -> dict[str, Any] | None:
        """The row with this primary key, as the batch has left it so far."""
        cache_key = (table.name, key)
        if cache_key not in self._cache:
            pk = _pk(table)
            where = and_(*(table.c[name] == value for name, value in zip(pk, key, strict=True)))
            found = self.conn.execute(select(table).where(where)).mappings().first()
            self._cache[cache_key] = dict(found) if found is not None else None
        return self._cache[cache_key]

    def prefetch(self, table: Table, keys: set[Any]) -> None:
        """Load many rows of a single-column-key table with one query."""
        (pk,) = _pk(table)
        wanted = [k for k in keys if (table.name, (k,)) not in self._cache]
        for chunk_start in range(0, len(wanted), 500):
            chunk = wanted[chunk_start : chunk_start + 500]
            for row in self.conn.execute(select(table).where(table.c[pk].in_(chunk))).mappings():
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

    def flush(self) -> None:
        for table, equals in self._deletes:
            self.conn.execute(table.delete().where(and_(*(table.c[c] == v for c, v in equals.items()))))
        bulk = BulkWriter(self.conn)
        for name, rows in self._inserts.items():
            if rows:
                bulk.insert(self._tables[name], list(rows.values()))
        for name, updates in self._updates.items():
            if updates:
                bulk.update(self._tables[name], updates)
        for name, counts in self._counts.items():
            self._flush_counts(self._tables[name], counts)
        self._deletes.clear()
        self._inserts.clear()
        self._updates.clear()
        self._counts.clear()

    def _flush_counts(self, table: Table, counts: dict[Key, tuple[dict[str, int], dict[str, Any]]]) -> None:
        pk = _pk(table)
        changed = {key: pending for key, pending in counts.items() if any(pending[0].values())}
        if not changed:
            return
        counters = sorted({column for amounts, _ in changed.values() for column in amounts})
        params = [
            dict(zip(pk, key, strict=True)) | initial | {c: amounts.get(c, 0) for c in counters}
            for key, (amounts, initial) in changed.items()
        ]
        dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
        upsert = dialect.insert(table)
        statement = upsert.on_conflict_do_update(
            index_elements=[table.c[c] for c in pk], set_={c: table.c[c] + upsert.excluded[c] for c in counters}
        )
        self.conn.execute(statement, params)
        # Only a row that was counted down can have reached zero.
        emptied = [
            {f"k_{c}": v for c, v in zip(pk, key, strict=True)}
            for key, (amounts, _) in changed.items()
            if any(amount < 0 for amount in amounts.values())
        ]
        if emptied:
            self.conn.execute(
                table.delete().where(
                    *(table.c[c] == bindparam(f"k_{c}") for c in pk), *(table.c[c] == 0 for c in counters)
                ),
                emptied,
            )
