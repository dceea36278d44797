"""Every read-model table as plain rows: to compare a read model with one rebuilt from the log."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from projections import tables as t
from projections.read_model import ReadModel


def dump(read_model: ReadModel) -> dict[str, list[tuple[Any, ...]]]:
    """Every read-model table, rows in primary-key order."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with read_model.reader.connect() as conn:
        for table in t.READ_MODEL_TABLES:
            order = list(table.primary_key.columns)
            tables[table.name] = [tuple(row) for row in conn.execute(select(table).order_by(*order))]
    return tables
