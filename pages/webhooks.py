"""The admin's pages for what leaves the tracker: webhook endpoints (add one and see its secret once, turn it off and
on, rotate its secret, delete it), an endpoint's delivery log (send one again, replay from a log position), and the
e-mails in the outbox. They act through the same outbox as the JSON API (outbox.endpoints)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from outbox.guard import RefusedAddressError
from outbox.service import Outbox
from pages.forms import ConfirmForm, DeleteEndpointForm, ReplayForm, WebhookForm, refused_status
from pages.session import Page, caught_up, role_required, signed_in
from pages.vocabulary import DELIVERY_STATUS_NAMES, EMAIL_KIND_NAMES, EMAIL_STATUS_NAMES
from tracker.errors import NotFoundError, ValidationError
from web.services import services

blp = Blueprint("webhook_pages", __name__, template_folder="templates")

LOG_SIZE = 50
EMAILS_SHOWN = 100


def _outbox() -> Outbox:
    outbox = services().outbox
    if outbox is None:
        abort(404)
    return outbox


def _endpoint(endpoint_id: UUID) -> Any:
    try:
        return _outbox().endpoints.require(endpoint_id)
    except NotFoundError:
        abort(404)


def _expired() -> str:
    return _("The form expired or was not sent from this site. Nothing was changed; send it again.")


@blp.route("/admin/webhooks", methods=["GET", "POST"])
@role_required("admin")
def webhooks() -> Page:
    """Every endpoint, with its state, and the form to add one."""
    outbox = _outbox()
    form = WebhookForm()

    def render(status: int = 200) -> Page:
        found = outbox.stats()
        return render_template(
            "webhooks/list.html",
            form=form,
            endpoints=outbox.endpoints.list(),
            stats=found,
            smtp=services().settings.smtp_url is not None,
        ), status

    if not form.is_submitted():
        return render()
    if not form.validate_on_submit():
        return render(refused_status(form))
    try:
        endpoint, secret = outbox.endpoints.create(
            url=form.url.data,
            event_types=form.event_types.data,
            description=form.description.data or None,
            actor_id=str(signed_in().person.id),
        )
    except RefusedAddressError:
        form.url.errors = [_("The address must be an https URL whose host is a public address (checked after DNS).")]
        return render(422)
    except ValidationError:
        form.event_types.errors = [_("Choose every event type, or only the event types you need.")]
        return render(422)
    return render_template("webhooks/secret.html", endpoint=endpoint, secret=secret, new=True), 201


@blp.get("/admin/webhooks/<uuid:endpoint_id>")
@role_required("admin")
def endpoint(endpoint_id: UUID) -> Page:
    """One endpoint: its state, the forms that change it, and its latest deliveries with every attempt."""
    return _endpoint_page(_endpoint(endpoint_id))


def _endpoint_page(
    found: Any, status: int = 200, replay: ReplayForm | None = None, delete: DeleteEndpointForm | None = None
) -> Page:
    log = _outbox().endpoints.deliveries(found.id, limit=LOG_SIZE, newest_first=True)
    return render_template(
        "webhooks/endpoint.html",
        endpoint=found,
        deliveries=log["items"],
        statuses=DELIVERY_STATUS_NAMES,
        confirm=ConfirmForm(),
        replay=replay or ReplayForm(formdata=None, data={"after": 0}),
        delete=delete or DeleteEndpointForm(formdata=None),
        shown=LOG_SIZE,
    ), status


def _confirmed(endpoint_id: UUID) -> tuple[Any, Page | None]:
    """The endpoint, and its page again (400) when a change's form lacks its CSRF token (None: it may go ahead)."""
    found = _endpoint(endpoint_id)
    if ConfirmForm().validate_on_submit():
        return found, None
    flash(_expired(), "error")
    return found, _endpoint_page(found, 400)


def _action(endpoint_id: UUID, act: Any, done: str) -> Page:
    found, refused = _confirmed(endpoint_id)
    if refused is not None:
        return refused
    act(found)
    flash(done, "success")
    return redirect(url_for("webhook_pages.endpoint", endpoint_id=endpoint_id))


@blp.post("/admin/webhooks/<uuid:endpoint_id>/active")
@role_required("admin")
def set_active(endpoint_id: UUID) -> Page:
    """Turn an endpoint off, or back on (its pending deliveries then go)."""
    found = _endpoint(endpoint_id)
    turn_on = not found.active
    return _action(
        endpoint_id,
        lambda e: _outbox().endpoints.update(e.id, {"active": turn_on}),
        _("The endpoint is on: its waiting deliveries go now.") if turn_on else _("The endpoint is off."),
    )


@blp.post("/admin/webhooks/<uuid:endpoint_id>/rotate")
@role_required("admin")
def rotate(endpoint_id: UUID) -> Page:
    """A new secret, shown once; deliveries carry both signatures for 24 hours."""
    _found, refused = _confirmed(endpoint_id)
    if refused is not None:
        return refused
    found, secret = _outbox().endpoints.rotate(endpoint_id)
    return render_template("webhooks/secret.html", endpoint=found, secret=secret, new=False)


@blp.post("/admin/webhooks/<uuid:endpoint_id>/delete")
@role_required("admin")
def delete(endpoint_id: UUID) -> Page:
    """Delete the endpoint and its log, once the box saying so is ticked (nothing brings them back)."""
    found = _endpoint(endpoint_id)
    form = DeleteEndpointForm()
    if not form.validate_on_submit():
        return _endpoint_page(found, refused_status(form), delete=form)
    _outbox().endpoints.delete(endpoint_id)
    flash(_("The endpoint and its delivery log are deleted."), "success")
    return redirect(url_for("webhook_pages.webhooks"))


@blp.post("/admin/webhooks/<uuid:endpoint_id>/deliveries/<int:delivery_id>/redeliver")
@role_required("admin")
def redeliver(endpoint_id: UUID, delivery_id: int) -> Page:
    def act(found: Any) -> None:
        try:
            _outbox().endpoints.redeliver(found.id, delivery_id)
        except NotFoundError:
            abort(404)
        _outbox().wake()

    return _action(endpoint_id, act, _("The delivery goes again now, with the same webhook-id."))


@blp.post("/admin/webhooks/<uuid:endpoint_id>/replay")
@role_required("admin")
def replay(endpoint_id: UUID) -> Page:
    found = _endpoint(endpoint_id)
    form = ReplayForm()
    if not form.validate_on_submit():
        return _endpoint_page(found, refused_status(form), replay=form)
    queued = _outbox().endpoints.replay(found.id, form.after.data, services().app.read_log)
    _outbox().wake()
    flash(ngettext("%(num)d event goes again.", "%(num)d events go again.", queued), "success")
    return redirect(url_for("webhook_pages.endpoint", endpoint_id=endpoint_id))


@blp.get("/admin/emails")
@role_required("admin")
def emails() -> Page:
    """The latest e-mails in the outbox, with whom they are for and how far they got."""
    outbox = _outbox()
    found = outbox.emails(limit=EMAILS_SHOWN, newest_first=True)
    people = {p.id: p for p in (services().people.get(e["person_id"], caught_up()) for e in found) if p is not None}
    return render_template(
        "webhooks/emails.html",
        emails=found,
        people=people,
        kinds=EMAIL_KIND_NAMES,
        statuses=EMAIL_STATUS_NAMES,
        smtp=services().settings.smtp_url is not None,
        shown=EMAILS_SHOWN,
    )
