"""The application contract suite's check of a refusal (its `world` fixture is in tests/conftest.py)."""

from __future__ import annotations

import pytest

from tracker.application import TrackerApplication
from tracker.errors import DomainError


def refused(app: TrackerApplication, error: type[DomainError], rule: str | None = None):
    """Context manager: the command raises `error` (naming `rule`) and records no event."""

    class _Refusal:
        def __enter__(self) -> _Refusal:
            self.before = app.current_position()
            self.raises = pytest.raises(error)
            self.info = self.raises.__enter__()
            return self

        def __exit__(self, *exc: object) -> bool:
            handled = self.raises.__exit__(*exc)  # type: ignore[arg-type]
            if rule is not None:
                assert self.info.value.rule == rule, self.info.value
            assert app.current_position() == self.before, "a refused command recorded an event"
            return bool(handled)

    return _Refusal()
