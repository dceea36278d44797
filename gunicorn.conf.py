"""gunicorn settings, from the environment. The app is built in each worker after fork (no preload),
so no connection pool is ever shared across fork. Run `tracker db upgrade` before starting."""

import json
import multiprocessing
import os
import shutil
import tempfile
import threading
import time

from runtime.settings import Settings, number_setting
from storage.config import DEFAULT_DATABASE_URL, StoreConfig


def _whole(name: str, default: str) -> int:
    """A whole-number setting of gunicorn's, at least 1; a malformed one stops gunicorn with a message naming it,
    not a traceback."""
    try:
        value = int(number_setting(os.environ, name, default, int))
    except ValueError as error:
        raise SystemExit(str(error)) from None
    if value < 1:
        raise SystemExit(f"{name} must be 1 or more, not {value}")
    return value


# Every setting is read here first, in the master: a malformed one stops gunicorn with its message, before each
# worker would meet it with a traceback.
try:
    Settings.from_env()
except ValueError as _error:
    raise SystemExit(f"configuration: {_error}") from None


_config = StoreConfig.from_url(os.environ.get("TRACKER_DATABASE_URL", DEFAULT_DATABASE_URL))
_store = _config.kind

bind = os.environ.get("TRACKER_BIND", "127.0.0.1:8000")
# SQLite has one writer at a time, but a request's CPU work (parsing, checking, loading, answering) need not wait for
# it: two workers by default, where there are two cores, since one process is bound by one core. Their writes take
# turns at the file's writer lock, one of them follows the log, and reads see every worker's writes (runtime.workers).
# More are allowed (TRACKER_WORKERS) and measured only up to two (docs/performance.md). PostgreSQL scales out.
_cores = multiprocessing.cpu_count()
_default_workers = min(2, _cores) if _store == "sqlite" else _cores * 2
workers = _whole("TRACKER_WORKERS", str(_default_workers))
threads = _whole("TRACKER_THREADS", "4")
worker_class = "gthread"
preload_app = False
timeout = _whole("TRACKER_WORKER_TIMEOUT", "30")
graceful_timeout = 20
keepalive = 5
accesslog = None  # the app logs each request as structured JSON
errorlog = "-"
loglevel = os.environ.get("TRACKER_LOG_LEVEL", "info").lower()

# Metrics from several workers are aggregated through files in this directory.
if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _metrics_dir = tempfile.mkdtemp(prefix="tracker-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir


def on_exit(server):
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    if directory.startswith(tempfile.gettempdir()) and "tracker-metrics-" in directory:
        shutil.rmtree(directory, ignore_errors=True)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def worker_exit(server, worker):
    """Stop the worker's projection and outbox threads between batches, rather than wherever the exit finds them,
    and close its connections.

    A batch cut short would be safe too: it is one transaction with its tracked position, rolled back whole. Sends
    under way are not waited for (they may take twice TRACKER_OUTBOX_SEND_TIMEOUT, past graceful_timeout): their
    claims lapse and they are sent again. On SQLite the last connection to close copies the write-ahead log into the
    file and removes it, so a server stopped this way usually leaves the one file."""
    extensions = getattr(getattr(worker, "wsgi", None), "extensions", None) or {}
    services = extensions.get("tracker")
    if services is not None:
        services.close(wait_for_sends=False)


def post_fork(server, worker):
    """A worker that boots while PostgreSQL is unreachable answers 503 until it can build the app.

    Building the app connects to the store, and a worker that fails to boot makes the master halt the whole
    server ("Worker failed to boot."): one worker respawned during a database outage would take the API down."""
    if _store != "postgresql":
        return
    load_wsgi = worker.load_wsgi

    def load_wsgi_or_answer_503():
        try:
            load_wsgi()
        except Exception as error:
            if not _store_unavailable(error):
                raise
            server.log.warning("Worker (pid:%s) booted without the store, answering 503 until it is back", worker.pid)
            worker.wsgi = _StoreUnavailable(server, worker, load_wsgi)

    worker.load_wsgi = load_wsgi_or_answer_503


def _store_unavailable(error):
    import psycopg
    from eventsourcing.persistence import InterfaceError, OperationalError
    from sqlalchemy.exc import OperationalError as SQLAlchemyOperationalError

    unavailable = (psycopg.OperationalError, OperationalError, InterfaceError, SQLAlchemyOperationalError)
    while error is not None:
        if isinstance(error, unavailable):
            return True
        error = error.__cause__ or error.__context__
    return False


def _store_answers():
    import psycopg

    try:
        with _config.connect(connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


class _StoreUnavailable:
    """Stands in for the app until the store answers: 503 problem+json, as the app answers when the store is down."""

    retry_seconds = 1.0

    def __init__(self, server, worker, load_wsgi):
        self.server, self.worker, self.load_wsgi = server, worker, load_wsgi
        self.lock = threading.Lock()
        self.next_try = 0.0

    def __call__(self, environ, start_response):
        if self.lock.acquire(blocking=False):  # one request thread tries; the others answer 503 meanwhile
            try:
                self._try_to_boot()
            finally:
                self.lock.release()
        if self.worker.wsgi is not self:
            return self.worker.wsgi(environ, start_response)
        body = json.dumps(
            {
                "type": "about:blank",
                "title": "Service Unavailable",
                "status": 503,
                "detail": "The store is unavailable; try again shortly.",
            }
        ).encode()
        start_response(
            "503 Service Unavailable",
            [("Content-Type", "application/problem+json"), ("Retry-After", "2"), ("Content-Length", str(len(body)))],
        )
        return [body]

    def _try_to_boot(self):
        if self.worker.wsgi is not self or time.monotonic() < self.next_try:
            return
        self.next_try = time.monotonic() + self.retry_seconds
        if not _store_answers():
            return
        try:
            self.load_wsgi()  # sets worker.wsgi to the app
        except Exception as error:
            if not _store_unavailable(error):
                self.server.log.exception("Worker (pid:%s) could not build the app", self.worker.pid)
            return
        self.server.log.warning("Worker (pid:%s) built the app: the store is back", self.worker.pid)
