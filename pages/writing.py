"""What every page that writes does with the application's answer: the change recorded (read-your-writes, a message,
back to the page), or refused, with the form sent back as typed: a stale version says what changed since, a field the
domain refused carries the domain's reason, and any other refusal is said at the top."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect, render_template, request
from flask_wtf import FlaskForm

from access import policy
from pages.forms import refused_status
from pages.refusals import not_accepted, refused
from pages.session import Page, signed_in, wrote
from pages.vocabulary import EVENT_NAMES
from tracker.errors import DomainError, ValidationError, VersionConflictError
from tracker.records import Receipt
from web.services import services


def changes_since(inn: Any, version: int) -> list[dict[str, Any]]:
    """The events after `version` the reader may see, as "what changed" (what and when)."""
    records = policy.visible_history(signed_in().viewer(), inn, services().app.history(inn.id))
    return [{"what": EVENT_NAMES.get(r.type, r.type), "at": r.at} for r in records if r.version > version]


def read_version(form: FlaskForm) -> int | None:
    """The version of the innovation the form was filled in against (its hidden `version` field)."""
    try:
        return int(form.version.data)
    except (AttributeError, TypeError, ValueError):
        return None


def write(
    inn: Any,
    form: FlaskForm,
    render: Callable[..., str],
    command: Callable[[int | None], Receipt],
    *,
    done: str,
    then: str | Callable[[Receipt], str],
    refusal: Callable[[DomainError], str] | None = None,
) -> Page:
    """Show the form on a GET (filled in at the innovation's version); on a POST run `command` (given the version
    the form was read at) for a valid form, then go to `then` (or where `then(receipt)` says); `render(**extra)`
    shows the form again when it is refused. `inn` is None for a submission, which has no version to be stale
    against."""
    if request.method == "GET":
        if inn is not None and hasattr(form, "version"):
            form.version.data = str(inn.version)
        return render(), 200
    if not form.validate_on_submit():
        return render(), refused_status(form)
    read = read_version(form)
    try:
        receipt = command(read)
    except VersionConflictError:
        assert inn is not None
        changes = changes_since(inn, read or 0)
        if hasattr(form, "version"):
            form.version.data = str(inn.version)
        return render(stale=changes), 409
    except ValidationError as error:
        if beside_field(form, error):
            return render(), 422
        return render(refused=(refusal or refused)(error)), 422
    except DomainError as error:
        return render(refused=(refusal or refused)(error)), 409
    wrote(receipt.position)
    flash(done, "success")
    return redirect(then if isinstance(then, str) else then(receipt))


def page(template: str, **context: Any) -> Callable[..., str]:
    """A renderer for `write`: the template with its context and whatever `write` adds."""
    return lambda **extra: render_template(template, **context, **extra)


def beside_field(form: FlaskForm, error: ValidationError) -> bool:
    """Show the domain's refusal of a field's value beside that field of the form; False where the form has no
    such field (the refusal is then the form's)."""
    field = getattr(form, error.field.split(".")[0], None)
    if field is None or not hasattr(field, "errors"):
        return False
    field.errors = [*field.errors, not_accepted(error)]
    return True
