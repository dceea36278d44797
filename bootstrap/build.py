"""Builds the application, the read model and the services from settings."""

from __future__ import annotations

from access.keys import KeyStore
from projections import migrate
from projections.read_model import ReadModel
from runtime.services import Services
from runtime.settings import Settings
from storage.application import check_stored_events_readable, open_application
from storage.schema import create_event_tables
from tracker.application import TrackerApplication

__all__ = ["build_application", "build_read_model", "build_services", "open_application", "upgrade_database"]


def upgrade_database(settings: Settings) -> None:
    """Create the event tables and migrate the read model, once, before any worker starts.

    What a rebuild that stopped part way left undone is finished before the migrations, which may change the
    indexes it dropped."""
    create_event_tables(settings.database_url)
    migrate.finish_stopped_rebuild(settings.database_url)
    migrate.upgrade(settings.database_url)


def build_application(settings: Settings) -> TrackerApplication:
    """The application; refuses to start when the stored events cannot be read with this TRACKER_CIPHER_KEY."""
    app = open_application(settings.database_url, pool_size=settings.pool_size, cipher_key=settings.cipher_key)
    try:
        check_stored_events_readable(app)
    except BaseException:
        app.close()
        raise
    return app


def build_read_model(settings: Settings, app: TrackerApplication) -> ReadModel:
    return ReadModel(
        app, settings.database_url, pool_size=settings.pool_size, batch_size=settings.projection_batch_size
    )


def build_services(settings: Settings) -> Services:
    app = build_application(settings)
    read_model = build_read_model(settings, app)
    return Services(
        settings=settings, app=app, read_model=read_model, keys=KeyStore(read_model.reader, read_model.writer)
    )
