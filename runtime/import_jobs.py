"""Imports started from the admin's pages: each runs in a thread of the web process and keeps its progress and, at
its end, its summary in the `import_jobs` table, so that any worker's page can show it while it runs.

The import itself is the importers' (idempotent, bad rows reported while the rest are imported), acting as
`importer:<person id>` as over the JSON API.

A job whose process stopped before it finished (a worker restarted, a deploy) is resumed by another process: the
uploaded file is kept until the job ends, and `resume_stopped` (run by every process at most every CHECK_EVERY, from
its requests) takes over a running job whose process is gone from this host, or that nobody has heard of for
STALE_AFTER (its runner writes at least every HEARTBEAT). Exactly one process takes a job over: the claim is a
conditional update. The import runs again from the start; what the stopped run imported counts as unchanged. A job
whose file is gone too is marked stopped, and its page says to import the file again."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import structlog
from sqlalchemy import JSON, Boolean, Column, DateTime, Integer, String, Table, Text, Uuid, false, select, update
from sqlalchemy.exc import SQLAlchemyError

from access.tables import key_metadata
from importers.common import ImportStopped, RowError
from importers.cove import count_records, import_cove
from importers.erasmus import RowFilter, import_erasmus
from projections.clock import utc_now
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
    Column("state", String(16), nullable=False),  # running, done, failed, stopped
    Column("done", Integer, nullable=False),
    Column("total", Integer, nullable=False),
    Column("note", String(300), nullable=False),
    Column("summary", JSON),
    Column("error", Text),
    Column("started_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
    Column("runner", String(200), nullable=False, server_default=""),  # host:pid of the process running it
    Column("path", Text),  # the uploaded file, kept until the job ends
    Column("filters", JSON),  # the Erasmus+ row filters, as [column, value, contains]
    Column("resumed", Integer, nullable=False, server_default="0"),
    Column("failure", JSON),  # a failed job's reason: {"code", "values"} of importers.common.REASONS
    Column("dry_run", Boolean, nullable=False, server_default=false()),  # a check of the file: nothing written
)
# An Erasmus+ import reports its progress as a fraction of this.
ERASMUS_STEPS = 1000
# How often a running job writes its progress; how often it says it is alive even without progress; how long unheard
# of before another process takes it over; how often a process looks for jobs to take over.
REPORT_EVERY = 0.5
HEARTBEAT = 10.0
STALE_AFTER = timedelta(minutes=1)
CHECK_EVERY = 30.0


class TakenOver(Exception):
    """Another process took the job over (this one was not heard of for STALE_AFTER): this run stops."""


def new_runner() -> str:
    """One run of a job: host:pid:a nonce of its own."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _gone(runner: str) -> bool:
    """Whether `runner` (host:pid:nonce) ran in a process of this host that no longer runs."""
    host, pid, *_ = [*runner.split(":"), "", ""]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


@dataclass
class _Reporter:
    """The importers' progress interface (`total`, `update`), writing to the job's row at most every REPORT_EVERY."""

    jobs: ImportJobs
    job_id: UUID
    runner: str
    total: int
    last: float = 0.0

    def update(self, done: int, note: str = "") -> None:
        now = time.monotonic()
        if now - self.last < REPORT_EVERY and done < self.total:
            return
        self.last = now
        if not self.jobs.report(self.job_id, self.runner, done=min(done, self.total), note=note[:300]):
            raise TakenOver(str(self.job_id))


class ImportJobs:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.reader = services.read_model.reader
        self.writer = services.read_model.writer
        self._checked = 0.0
        self._lock = threading.Lock()

    def start(
        self,
        *,
        person_id: UUID,
        source: str,
        path: Path,
        filename: str,
        filters: list[RowFilter],
        dry_run: bool = False,
    ) -> UUID:
        """Record the job and run it in a thread; the file (in a directory of its own) is removed at its end."""
        job_id = uuid.uuid4()
        total = max(ERASMUS_STEPS if source == "erasmus" else count_records(path), 1)
        now = utc_now()
        with self.writer.begin() as tx:
            tx.execute(
                import_jobs.insert().values(
                    id=job_id,
                    person_id=person_id,
                    source=source,
                    filename=filename[:300],
                    state="running",
                    done=0,
                    total=total,
                    note="",
                    started_at=now,
                    updated_at=now,
                    runner=(runner := new_runner()),
                    path=str(path),
                    filters=[[f.column, f.value, f.contains] for f in filters],
                    dry_run=dry_run,
                )
            )
        self._launch(job_id, runner, person_id, source, path, filename, filters, total, dry_run)
        return job_id

    def _launch(self, *args: Any) -> None:
        threading.Thread(target=self._run, args=args, daemon=True).start()

    def resume_stopped(self) -> list[UUID]:
        """Take over the running jobs whose process stopped (see the module's text); returns the ones taken over.
        Called from each request, it looks at most every CHECK_EVERY."""
        now_monotonic = time.monotonic()
        with self._lock:
            if now_monotonic - self._checked < CHECK_EVERY:
                return []
            self._checked = now_monotonic
        try:
            return self.resume_now()
        except SQLAlchemyError:
            # The store is unreachable: the request goes on (and answers as it would), the next look tries again.
            log.warning("could not look for stopped imports", exc_info=True)
            return []

    def resume_now(self) -> list[UUID]:
        taken = []
        stale_before = utc_now() - STALE_AFTER
        with self.reader.connect() as conn:
            running = conn.execute(select(import_jobs).where(import_jobs.c.state == "running")).mappings().all()
        for job in running:
            if not (job["updated_at"] < stale_before or _gone(job["runner"])):
                continue
            path = Path(job["path"]) if job["path"] else None
            kept = path is not None and path.is_file()
            claim = (
                update(import_jobs)
                .where(import_jobs.c.id == job["id"])
                .where(import_jobs.c.state == "running")
                .where(import_jobs.c.runner == job["runner"])
                .where(import_jobs.c.updated_at == job["updated_at"])
            )
            runner = new_runner()
            if kept:
                claim = claim.values(runner=runner, updated_at=utc_now(), done=0, note="", resumed=job["resumed"] + 1)
            else:
                claim = claim.values(state="stopped", updated_at=utc_now(), finished_at=utc_now())
            with self.writer.begin() as tx:
                if tx.execute(claim).rowcount != 1:
                    continue  # another process took it first
            if not kept:
                log.warning("import stopped and its file is gone", job=str(job["id"]))
                continue
            assert path is not None
            log.info("resuming an import whose process stopped", job=str(job["id"]), runner=job["runner"])
            filters = [RowFilter(column, value, contains) for column, value, contains in job["filters"] or []]
            self._launch(
                job["id"],
                runner,
                job["person_id"],
                job["source"],
                path,
                job["filename"],
                filters,
                job["total"],
                job["dry_run"],
            )
            taken.append(job["id"])
        return taken

    def _run(
        self,
        job_id: UUID,
        runner: str,
        person_id: UUID,
        source: str,
        path: Path,
        filename: str,
        filters: list[RowFilter],
        total: int,
        dry_run: bool,
    ) -> None:
        app = self.services.app
        actor = Actor(f"importer:{person_id}", "importer")
        reporter = _Reporter(self, job_id, runner, total)
        name = f"{filename}@{job_id}"
        ended = threading.Event()
        threading.Thread(target=self._beat, args=(job_id, runner, ended), daemon=True).start()
        taken_over = False
        try:
            given = {"actor": actor, "source_name": name, "progress": reporter, "dry_run": dry_run}
            if source == "cove":
                summary = import_cove(app, path, **given)
            else:
                summary = import_erasmus(app, path, filters=filters, **given)
        except TakenOver:
            taken_over = True
            log.warning("import taken over by another process", job=str(job_id))
        except RowError as error:
            failure = {"code": error.code, "values": error.values}
            self.report(job_id, runner, state="failed", error=str(error), failure=failure, finished_at=utc_now())
        except ImportStopped as stopped:
            log.exception("import stopped", job=str(job_id))
            failure = {"code": stopped.error.code, "values": stopped.error.values}
            done = {"summary": stopped.summary.as_dict(), "failure": failure, "finished_at": utc_now()}
            self.report(job_id, runner, state="failed", error=str(stopped), **done)
        except Exception as error:
            log.exception("import failed", job=str(job_id))
            self.report(job_id, runner, state="failed", error=f"{type(error).__name__}: {error}", finished_at=utc_now())
        else:
            finished = {"done": total, "summary": summary.as_dict(), "finished_at": utc_now()}
            taken_over = not self.report(job_id, runner, state="done", **finished)
        finally:
            ended.set()
            if not taken_over:  # else the process that took over reads the file
                shutil.rmtree(path.parent, ignore_errors=True)
            self.services.after_write(app.current_position())

    def _beat(self, job_id: UUID, runner: str, ended: threading.Event) -> None:
        """Say the job is alive every HEARTBEAT while it runs, progress or not (a long step reports nothing)."""
        while not ended.wait(HEARTBEAT):
            self.report(job_id, runner)

    def report(self, job_id: UUID, runner: str, **values: Any) -> bool:
        """Write this run's progress or end; False when the job is no longer this run's (taken over, or ended)."""
        with self.writer.begin() as tx:
            found = tx.execute(
                update(import_jobs)
                .where(import_jobs.c.id == job_id)
                .where(import_jobs.c.runner == runner)
                .where(import_jobs.c.state == "running")
                .values(updated_at=utc_now(), **values)
            )
            return bool(found.rowcount == 1)

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
    job["percent"] = round(100 * job["done"] / job["total"]) if job["total"] else 0
    return job
