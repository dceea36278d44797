"""gunicorn's entry point: `gunicorn -c gunicorn.conf.py wsgi:app` (built in each worker, after fork)."""

import gc

from bootstrap import create_app
from runtime.logging import configure_logging
from runtime.settings import Settings

settings = Settings.from_env()
configure_logging(settings.log_level)
app = create_app(settings)
# Everything built so far lives as long as the worker: keep it out of the garbage collector's full collections, which
# otherwise walk it all (about 100 ms each under load, stalling every request thread of the worker meanwhile).
gc.collect()
gc.freeze()
