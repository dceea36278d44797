"""What one projection batch reports: shared by the read model (projections.read_model) and its batch strategies."""

from __future__ import annotations

from typing import NamedTuple


class Batch(NamedTuple):
    """One batch: how many events it read, how many it applied, and the position every projection has reached."""

    read: int
    applied: int
    reached: int
