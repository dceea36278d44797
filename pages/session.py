"""Who is signed in to the pages (Flask-Login), and the limit on failed sign-ins.

The session cookie holds the person's id and a fingerprint of their password hash (access.signin's `stamp`). Each
request loads the person again: a person deactivated or erased, or whose password changed, is signed out at their
next request. The cookie is HttpOnly and SameSite=Lax, Secure when TRACKER_SECURE_COOKIES is set, and lapses after
TRACKER_SESSION_IDLE_MINUTES without a request (Flask checks the age of its signature on every request)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit
from uuid import UUID

import structlog
from flask import Flask, current_app, g, redirect, render_template, request, session, url_for
from flask_login import LoginManager, UserMixin, current_user
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import Connection
from werkzeug.wrappers import Response

from access.keys import Principal
from access.people import Person
from access.policy import Viewer
from access.secrets import shared_secret
from tracker.actors import Actor
from web.read_connection import read_afresh
from web.services import SERVICES, services

log = structlog.get_logger("tracker.pages")
# The key of the Flask app's extensions that holds the FailedSignIns.
FAILED_SIGN_INS = "tracker.failed_sign_ins"
# The session's record of the log position of the person's last write (read-your-writes across requests).
WRITTEN = "written"
F = TypeVar("F", bound=Callable[..., Any])
# What a page view answers: the page, the page with its status, or a redirect.
Page = str | tuple[str, int] | Response


class SignedIn(UserMixin):  # type: ignore[misc]
    """The person signed in to this request."""

    def __init__(self, person: Person, stamp: str) -> None:
        self.person = person
        self.stamp = stamp

    def get_id(self) -> str:
        return f"{self.person.id}:{self.stamp}"

    @property
    def role(self) -> str:
        return self.person.role

    @property
    def locale(self) -> str:
        return self.person.locale

    @property
    def name(self) -> str:
        return self.person.display_name

    def actor(self) -> Actor:
        """The person as the actor of what they do on the pages (no key: the session is theirs)."""
        return self.person.actor()

    def viewer(self) -> Viewer:
        return Viewer(str(self.person.id), self.person.role, self.person.organisation_id)


def signed_in() -> SignedIn:
    user: SignedIn = current_user._get_current_object()
    return user


def role_required(*roles: str) -> Callable[[F], F]:
    """Signed in, in one of these roles: others get a 403 page that says so."""

    def decorate(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
            if current_user.role not in roles:
                return render_template("signin/forbidden.html"), 403
            return view(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorate


def wrote(position: int | None) -> None:
    """A page's write reached the log up to `position`: the person's next pages read at least that far."""
    svc = services()
    at = position if position is not None else svc.app.current_position()
    svc.after_write(at)
    session[WRITTEN] = max(int(session.get(WRITTEN, 0)), at)


def caught_up() -> Connection:
    """Before a page reads the read model: what this person wrote is projected (waiting up to the configured time;
    on PostgreSQL the projection worker applies it), then the request's read connection, afresh."""
    svc = services()
    svc.read_your_writes()
    written = int(session.get(WRITTEN, 0))
    if written:
        svc.read_model.wait_for(written, svc.settings.read_wait_timeout, catch_up=svc.settings.inline_projections)
    return read_afresh()


def _load(session_id: str) -> SignedIn | None:
    person_id, _, stamp = session_id.partition(":")
    try:
        ident = UUID(person_id)
    except ValueError:
        return None
    svc = services()
    found = svc.signin.session_person(ident)
    if found is None:
        return None
    person, current = found
    if not person.active or person.erased or not svc.signin.stamps_match(stamp, current):
        return None
    # The request log names the person, as it does for a key (web.observability).
    g.principal = Principal(None, "session", person.role, person.organisation_id, person.id, person.locale)
    return SignedIn(person, current)


def safe_next(target: str | None) -> str | None:
    """A page of this site to go on to after signing in; anything else (another host, a scheme) is ignored."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


class FailedSignIns:
    """Failed sign-ins counted per client address and per account, with the storage the API counts failed keys in
    (web.failure_counts): once either is over the limit, sign-in is refused until the window passes, whether the
    password is right or not. An unreachable storage lets sign-ins through (logged), as the API does."""

    def __init__(self, limit: str, strategy: FixedWindowRateLimiter) -> None:
        self.items: list[RateLimitItem] = parse_many(limit) if limit else []
        self.strategy = strategy

    @staticmethod
    def _keys(address: str, email: str) -> list[tuple[str, str]]:
        return [("signin-address", address), ("signin-account", email.strip().lower())]

    def allowed(self, address: str, email: str) -> bool:
        try:
            return all(self.strategy.test(item, *key) for item in self.items for key in self._keys(address, email))
        except StorageError as error:
            log.error("sign-in limit storage unreachable", error=str(error))
            return True

    def failed(self, address: str, email: str) -> None:
        try:
            for item in self.items:
                for key in self._keys(address, email):
                    self.strategy.hit(item, *key)
        except StorageError as error:
            log.error("sign-in limit storage unreachable", error=str(error))


def failed_sign_ins() -> FailedSignIns:
    found: FailedSignIns = current_app.extensions[FAILED_SIGN_INS]
    return found


def install(app: Flask, failed: FailedSignIns) -> None:
    svc = services_of(app)
    settings = svc.settings
    secret = settings.secret_key or shared_secret("session", svc.read_model.reader, svc.read_model.writer)
    app.config.update(
        SECRET_KEY=secret,
        SESSION_COOKIE_NAME="tracker_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=settings.session_idle_minutes),
        SESSION_REFRESH_EACH_REQUEST=True,
        REMEMBER_COOKIE_DURATION=timedelta(seconds=0),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session that holds it
    )
    app.extensions[FAILED_SIGN_INS] = failed
    manager = LoginManager(app)
    manager.user_loader(_load)
    manager.session_protection = "basic"

    @manager.unauthorized_handler
    def unauthorized() -> Response:
        return redirect(url_for("signin.login", next=request.full_path.rstrip("?")))


def services_of(app: Flask) -> Any:
    return app.extensions[SERVICES]
