"""gunicorn settings, from the environment. The app is built in each worker after fork (no preload),
so no connection pool is ever shared across fork. Run `tracker db upgrade` before starting."""

import multiprocessing
import os
import shutil
import tempfile

from tracker.stores import DEFAULT_DATABASE_URL, StoreConfig

_store = StoreConfig.from_url(os.environ.get("TRACKER_DATABASE_URL", DEFAULT_DATABASE_URL)).kind

bind = os.environ.get("TRACKER_BIND", "127.0.0.1:8000")
# SQLite has one writer at a time: one worker with threads serves it best. PostgreSQL scales out.
workers = int(os.environ.get("TRACKER_WORKERS", "1" if _store == "sqlite" else str(multiprocessing.cpu_count() * 2)))
threads = int(os.environ.get("TRACKER_THREADS", "4"))
worker_class = "gthread"
preload_app = False
timeout = int(os.environ.get("TRACKER_WORKER_TIMEOUT", "30"))
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
