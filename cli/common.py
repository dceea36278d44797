"""What the `tracker` command groups share: the services built from the environment, and how a bad setting is shown."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click

from bootstrap import build_services
from runtime.services import Services
from runtime.settings import Settings
from storage.config import StoreConfigError


@contextmanager
def configuration_errors() -> Iterator[None]:
    """A setting or a store that cannot work (a malformed URL or cipher key, a key that is not the store's) is said in
    one line, without a traceback, with exit status 1."""
    try:
        yield
    except StoreConfigError as error:
        raise click.ClickException(f"configuration: {error}") from error


@contextmanager
def open_services() -> Iterator[Services]:
    with configuration_errors():
        services = build_services(Settings.from_env())
    try:
        yield services
    finally:
        services.close()
