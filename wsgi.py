"""gunicorn's entry point: `gunicorn -c gunicorn.conf.py wsgi:app` (built in each worker, after fork)."""

from api.app import create_app
from api.observability import configure_logging
from api.settings import Settings

settings = Settings.from_env()
configure_logging(settings.log_level)
app = create_app(settings)
