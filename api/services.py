"""What the HTTP layer talks to, built once per process by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from api.keys import KeyStore
from api.settings import Settings
from projections.runner import ReadModel
from tracker.application import TrackerApplication

log = structlog.get_logger("tracker.services")


@dataclass
class Services:
    settings: Settings
    app: TrackerApplication
    read_model: ReadModel
    keys: KeyStore

    def after_write(self, position: int) -> None:
        """With inline projections (SQLite), bring the read model up to the write before answering."""
        if not self.settings.inline_projections:
            return
        try:
            self.read_model.wait_for(position, timeout=self.settings.read_wait_timeout)
        except Exception:  # the write succeeded; a later read catches up
            log.exception("inline_projection_failed", position=position)

    def close(self) -> None:
        self.read_model.close()
        self.app.close()
