"""Builds the application, the read model and the services from settings, and the undecoded event log for audits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from eventsourcing.persistence import ApplicationRecorder
from sqlalchemy import Engine

from access.keys import KeyStore
from access.people import PeopleStore
from access.signin import SignIn
from outbox.derive import invitation_email
from outbox.mail import Mailer, SMTPConfig
from outbox.service import INLINE_POLL_SECONDS, LISTENING_POLL_SECONDS, POLL_SECONDS, Outbox
from projections import migrate
from projections.engine import make_engine
from projections.read_model import ReadModel
from runtime.services import Services
from runtime.settings import Settings
from storage.application import check_stored_events_readable, open_application
from storage.config import StoreConfig
from storage.locks import StoreOpen
from storage.schema import create_event_tables
from storage.store_key import check_store_key
from tracker.application import TrackerApplication

__all__ = [
    "build_application",
    "build_outbox",
    "build_read_model",
    "build_services",
    "open_application",
    "open_event_log",
    "upgrade_database",
]


def upgrade_database(settings: Settings) -> None:
    """Create the event tables and migrate the read model, once, before any worker starts.

    What a rebuild that stopped part way left undone is finished before the migrations, which may change the
    indexes it dropped. On SQLite the upgrade holds the store open throughout, as every process does, so that no
    restore replaces the file under it. An upgrade given TRACKER_CIPHER_KEY records it as the store's key, where
    none is recorded yet (storage.store_key)."""
    config = StoreConfig.from_url(settings.database_url)
    holder = StoreOpen(config.path) if config.kind == "sqlite" and config.path and config.path != ":memory:" else None
    if holder is not None:
        holder.hold()
    try:
        create_event_tables(settings.database_url)
        if settings.cipher_key is not None:
            check_store_key(config, settings.cipher_key)
        migrate.finish_stopped_rebuild(settings.database_url)
        migrate.upgrade(settings.database_url)
    finally:
        if holder is not None:
            holder.release()


def build_application(settings: Settings) -> TrackerApplication:
    """The application; refuses to start when the stored events cannot be read with this TRACKER_CIPHER_KEY, or
    the store records another key (or none) than this one (storage.store_key)."""
    app = open_application(
        settings.database_url,
        pool_size=settings.pool_size,
        cipher_key=settings.cipher_key,
        group_commit=settings.group_commit,
    )
    try:
        check_stored_events_readable(app)
        check_store_key(StoreConfig.from_url(settings.database_url), settings.cipher_key)
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
    people = PeopleStore(read_model.reader, read_model.writer)
    return Services(
        settings=settings,
        app=app,
        read_model=read_model,
        keys=KeyStore(read_model.reader, read_model.writer),
        people=people,
        signin=SignIn(people, on_invite=invitation_email),
        outbox=build_outbox(settings, app),
    )


def build_outbox(settings: Settings, app: TrackerApplication) -> Outbox:
    """The outbox; its e-mails are rendered once the pages give it their renderer (bootstrap.web)."""
    timeout = settings.outbox_send_timeout
    smtp = SMTPConfig.from_url(settings.smtp_url, settings.smtp_from) if settings.smtp_url else None
    mailer = Mailer(smtp, timeout=timeout) if smtp is not None else None
    return Outbox(
        app,
        settings.database_url,
        allow_private=settings.webhooks_allow_private,
        mailer=mailer,
        lease=timedelta(seconds=settings.outbox_lease_seconds),
        timeout=timeout,
        poll=_outbox_poll(settings),
    )


def _outbox_poll(settings: Settings) -> float:
    """How often the outbox looks without being woken: seldom where commits wake it (PostgreSQL's notifications, or
    the web process's own writes), often in a worker process of its own on SQLite."""
    if settings.inline_outbox:
        return INLINE_POLL_SECONDS
    if StoreConfig.from_url(settings.database_url).kind == "postgresql":
        return LISTENING_POLL_SECONDS
    return POLL_SECONDS


@contextmanager
def open_event_log(settings: Settings) -> Iterator[tuple[ApplicationRecorder, Engine]]:
    """The event store's recorder and the read model's engine, for the audit chain.

    Verification hashes the stored bytes and never decodes an event, so it must run even when an event no longer
    decodes; the application built for serving (build_application) refuses to start then.
    """
    app = open_application(settings.database_url, pool_size=1)
    try:
        engine = make_engine(settings.database_url, pool_size=1)
        try:
            yield app.recorder, engine
        finally:
            engine.dispose()
    finally:
        app.close()
