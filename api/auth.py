"""Bearer API keys (Flask-HTTPAuth): who the caller is, and which roles may call what."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID

from flask import Response, g, request
from flask_httpauth import HTTPTokenAuth
from flask_login import current_user

from access import policy
from access.keys import Principal
from access.policy import Viewer
from api.errors import ProblemError, problem
from tracker.actors import PERSON_ROLES
from tracker.innovation import Innovation
from web.read_connection import read_connection
from web.services import services

F = TypeVar("F", bound=Callable[..., Any])


class KeyOrSession(HTTPTokenAuth):  # type: ignore[misc]
    """A bearer key; without one, the session of the tracker's pages for a read (`session_reader`)."""

    def authenticate(self, auth: Any, stored_password: Any) -> Any:
        if getattr(auth, "token", None):
            return super().authenticate(auth, stored_password)
        return session_reader()


auth = KeyOrSession(scheme="Bearer")

READERS = PERSON_ROLES


@auth.verify_token
def verify_token(token: str) -> Principal | None:
    if not token:
        return None
    conn = read_connection()
    principal = services().keys.verify(token, conn)
    # The key check is a transaction of its own (on SQLite, a snapshot): what the request reads next is read afresh.
    conn.rollback()
    if principal is not None:
        g.principal = principal
    return principal


def session_reader() -> Principal | None:
    """The person signed in to the tracker's pages, for a read (GET or HEAD) sent without a key (API.md, "Auth"):
    the pages' session may read the API, never write through it. Their session loader sets `g.principal`."""
    if request.method not in ("GET", "HEAD") or not current_user.is_authenticated:
        return None
    found: Principal | None = g.get("principal")
    return found


@auth.get_user_roles
def user_roles(principal: Principal) -> list[str]:
    return [principal.role]


@auth.error_handler
def auth_error(status: int) -> Response:
    if status == 401:
        return problem(401, "Send a valid API key as 'Authorization: Bearer <key>'.")
    return problem(403, "Your role may not do this.")


def require(*roles: str) -> Callable[[F], F]:
    """Authenticate, then allow only these roles (an outermost decorator on a view)."""
    return auth.login_required(role=list(roles))  # type: ignore[return-value]


def principal() -> Principal:
    found: Principal | None = auth.current_user()
    if found is None:  # pragma: no cover - views are always behind require()
        raise ProblemError(401, "Send a valid API key.")
    return found


def viewer() -> Viewer:
    """The caller as the confidentiality policy sees them."""
    return Viewer.of(principal())


def seen(innovation_id: UUID) -> Innovation:
    """Load the innovation; 404 where the caller may not see it (access.policy), as if it did not exist."""
    inn = services().app.get_innovation(innovation_id)
    if not policy.sees_innovation(viewer(), inn):
        raise ProblemError(404, f"innovation {innovation_id} not found", rule="not_found.innovation")
    return inn


def ensure_owner(organisation_id: UUID) -> None:
    """Providers act only for their own organisation; admins for any."""
    if not viewer().acts_for(organisation_id):
        raise ProblemError(403, "This innovation belongs to another organisation.", rule="ownership")
