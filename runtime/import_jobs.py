"""Imports started from the admin's pages: each runs in a thread of the web process and keeps its progress and, at
its end, its summary in the `import_jobs` table, so that any worker's page can show it while it runs.

The import itself is the importers' (idempotent, bad rows reported while the rest are imported), acting as
`importer:<person id>` as over the JSON API. A job whose process stopped before it finished keeps its last progress;
one not heard of for STALE_AFTER is shown as stopped, and running the same file again completes it (imports are
idempotent)."""

from __future__ import annotations

import json
import shutil
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import structlog
from sqlalchemy import JSON, Column, DateTime, Integer, String, Table, Text, Uuid, select, update

from access.tables import key_metadata
from importers.common import RowError
from importers.cove import import_cove
from importers.erasmus import RowFilter, import_erasmus
from runtime.services import Services
from tracker.actors import Actor

log = structlog.get_logger("tracker.imports")

import_jobs = Table(
    "import_jobs",
    key_metadata,
    Column("id", Uuid, primary_key=True),
    Column("person_id", Uuid, nullable=False),
    Column("source", String(16), nullable=False),
    Column("filename", String(300), nullable=False),
    Column("state", String(16), nullable=False),  # running, done, failed
    Column("done", Integer, nullable=False),
    Column("total", Integer, nullable=False),
    Column("note", String(300), nullable=False),
    Column("summary", JSON),
    Column("error", Text),
    Column("started_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
)
SOURCES = {"cove": (".json",), "erasmus": (".csv", ".xlsx", ".xlsm")}
# An Erasmus+ import reports its progress as a fraction of this.
ERASMUS_STEPS = 1000
# How often a running job writes its progress, and how long unheard of before it counts as stopped.
REPORT_EVERY = 0.5
STALE_AFTER = timedelta(minutes=5)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class _Reporter:
    """The importers' progress interface (`total`, `update`), writing to the job's row at most every REPORT_EVERY."""

    jobs: ImportJobs
    job_id: UUID
    total: int
    last: float = 0.0

    def update(self, done: int, note: str = "") -> None:
        now = time.monotonic()
        if now - self.last < REPORT_EVERY and done < self.total:
            return
        self.last = now
        self.jobs.report(self.job_id, done=min(done, self.total), note=note[:300])


class ImportJobs:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.reader = services.read_model.reader
        self.writer = services.read_model.writer

    def start(self, *, person_id: UUID, source: str, path: Path, filename: str, filters: list[RowFilter]) -> UUID:
        """Record the job and run it in a thread; the file (in a directory of its own) is removed at its end."""
        job_id = uuid.uuid4()
        total = ERASMUS_STEPS if source == "erasmus" else _count_records(path)
        now = _now()
        with self.writer.begin() as tx:
            tx.execute(
                import_jobs.insert().values(
                    id=job_id,
                    person_id=person_id,
                    source=source,
                    filename=filename[:300],
                    state="running",
                    done=0,
                    total=max(total, 1),
                    note="",
                    started_at=now,
                    updated_at=now,
                )
            )
        thread = threading.Thread(
            target=self._run, args=(job_id, person_id, source, path, filename, filters, max(total, 1)), daemon=True
        )
        thread.start()
        return job_id

    def _run(
        self,
        job_id: UUID,
        person_id: UUID,
        source: str,
        path: Path,
        filename: str,
        filters: list[RowFilter],
        total: int,
    ) -> None:
        app = self.services.app
        actor = Actor(f"importer:{person_id}", "importer")
        reporter = _Reporter(self, job_id, total)
        name = f"{filename}@{job_id}"
        try:
            if source == "cove":
                summary = import_cove(app, path, actor=actor, source_name=name, progress=reporter)
            else:
                summary = import_erasmus(app, path, actor=actor, filters=filters, source_name=name, progress=reporter)
        except RowError as error:
            self.report(job_id, state="failed", error=str(error), finished_at=_now())
        except Exception as error:
            log.exception("import failed", job=str(job_id))
            self.report(job_id, state="failed", error=f"{type(error).__name__}: {error}", finished_at=_now())
        else:
            self.report(job_id, state="done", done=total, summary=summary.as_dict(), finished_at=_now())
        finally:
            shutil.rmtree(path.parent, ignore_errors=True)
            self.services.after_write(app.current_position())

    def report(self, job_id: UUID, **values: Any) -> None:
        with self.writer.begin() as tx:
            tx.execute(update(import_jobs).where(import_jobs.c.id == job_id).values(updated_at=_now(), **values))

    def get(self, job_id: UUID) -> dict[str, Any] | None:
        with self.reader.connect() as conn:
            row = conn.execute(select(import_jobs).where(import_jobs.c.id == job_id)).mappings().first()
        return _shown(row) if row is not None else None

    def recent(self, limit: int = 20) -> list[dict[str, Any]]:
        with self.reader.connect() as conn:
            rows = conn.execute(select(import_jobs).order_by(import_jobs.c.started_at.desc()).limit(limit)).mappings()
            return [_shown(r) for r in rows]


def _shown(row: Any) -> dict[str, Any]:
    job = dict(row)
    if job["state"] == "running" and _now() - job["updated_at"] > STALE_AFTER:
        job["state"] = "stopped"
    job["percent"] = round(100 * job["done"] / job["total"]) if job["total"] else 0
    return job


def _count_records(path: Path) -> int:
    """A CoVE file's projects, for the progress; the importer reports an unreadable file itself."""
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 1
    return len(records) if isinstance(records, list) else 1
