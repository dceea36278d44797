"""Read-model queries: plain SQL over the projection tables; nothing here loads events or aggregates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Select, and_, exists, literal, or_

from projections import tables as t
from tracker.validation import normalise_name


def open_at(interval: Any, at: datetime | BindParameter[Any]) -> ColumnElement[bool]:
    """A stage or status interval open at `at` (naive UTC): entered by then, not yet exited."""
    return and_(interval.c.entered_at <= at, or_(interval.c.exited_at.is_(None), interval.c.exited_at > at))


def scored_at(history: Any, at: datetime | BindParameter[Any]) -> ColumnElement[bool]:
    """The row of the score history that held at `at` (naive UTC)."""
    return and_(history.c.at <= at, or_(history.c.valid_to.is_(None), history.c.valid_to > at))


@dataclass(frozen=True)
class Scope:
    """What one caller may see of the portfolio, as SQL over `rm_innovations` (built by access.policy).

    `where` keeps the innovations they may see at all; `mpi_hidden` is true where they may see the innovation but
    not yet its consolidated MPI and score history (a blind evaluator). None means no restriction."""

    where: ColumnElement[bool] | None = None
    mpi_hidden: ColumnElement[bool] | None = None
    # `where` is `public OR granted`: what everyone sees (the public stages), and what of the rest (`private`, the
    # confidential stages, written so an index answers it) this caller may. A list's total is counted in those two
    # parts.
    public: ColumnElement[bool] | None = None
    private: ColumnElement[bool] | None = None
    granted: ColumnElement[bool] | None = None
    # How many innovations in the confidential stages the caller may see, counted from an index (their grants, or
    # their organisation's rows): with nothing else filtering, a list's total is everything less the confidential
    # stages plus this, which costs far less than counting the public stages row by row.
    granted_total: Select[Any] | None = None
    # Whether an innovation in a given stage is visible (a clause over a stage column): reads of the portfolio as
    # it stood at an instant also need the innovation to have been visible in the stage it was in then.
    then: Callable[[Any], ColumnElement[bool]] | None = None

    @property
    def restricted(self) -> bool:
        return self.where is not None or self.mpi_hidden is not None

    def conditions(self) -> list[ColumnElement[bool]]:
        return [self.where] if self.where is not None else []

    def as_of(self, at: datetime | BindParameter[Any]) -> list[ColumnElement[bool]]:
        """The conditions for the portfolio as it stood at `at` (naive UTC): visible now, and visible then."""
        if self.then is None:
            return self.conditions()
        i, si = t.innovations, t.stage_intervals.alias("visible_then")
        then = exists().where(si.c.innovation_id == i.c.id, open_at(si, at), self.then(si.c.stage))
        return [*self.conditions(), then]


EVERYTHING = Scope()


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    total: int
    page: int
    page_size: int


def naive(moment: datetime) -> datetime:
    """Convert an aware instant to the read model's naive UTC."""
    if moment.tzinfo is None:
        raise ValueError("instants must carry a time zone")
    return moment.astimezone(UTC).replace(tzinfo=None)


def aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None else None


def contains(column: Any, text: str) -> ColumnElement[bool]:
    """Case- and spacing-insensitive substring match, with LIKE wildcards escaped."""
    needle = normalise_name(text).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(literal(f"%{needle}%"), escape="\\")


def offset(page: int, page_size: int) -> int:
    return (page - 1) * page_size


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    """Linear interpolation between closest ranks (as PostgreSQL's percentile_cont)."""
    if not sorted_values:
        return None
    rank = fraction * (len(sorted_values) - 1)
    low = int(rank)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)
