"""The e-mails people receive, rendered in the reader's language: a subject, plain text and HTML, each with a link
to the page to act on. The outbox (outbox.sending) decides when; this module only words them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from flask import Flask, render_template
from flask_babel import force_locale, format_date, format_datetime
from flask_babel import gettext as _

from outbox.mail import Message
from pages.i18n import DEFAULT, LANGUAGES, language_of
from pages.vocabulary import DECISION_NAMES, STAGE_NAMES


def _subject(kind: str, context: dict[str, Any]) -> str:
    if kind == "evaluator_assigned":
        return _("An innovation waits for your assessment: %(title)s", title=context["title"])
    if kind == "gate_decision":
        return _("Decision on %(title)s: %(decision)s", title=context["title"], decision=context["decision_name"])
    if kind == "invitation":
        return _("You are invited to the Innovation Ecosystem Tracker")
    return _("A webhook endpoint was disabled")


def _path(kind: str, context: dict[str, Any]) -> str:
    if kind == "evaluator_assigned":
        return f"/assess/{context['innovation_id']}"
    if kind == "gate_decision":
        return f"/innovations/{context['innovation_id']}"
    if kind == "invitation":
        return f"/invitations/{context['token']}"
    return f"/admin/webhooks/{context['endpoint_id']}"


def renderer(app: Flask, base_url: str) -> Callable[[str, str, dict[str, Any]], Message]:
    """Renders an e-mail of `kind` for a reader whose language is `locale`, from the outbox's context."""

    def render(kind: str, locale: str, context: dict[str, Any]) -> Message:
        language = language_of(locale)
        language = language if language in LANGUAGES else DEFAULT
        with app.test_request_context(base_url=base_url), force_locale(language):
            values = dict(context, lang=language)
            values["link"] = base_url + _path(kind, context)
            values["account"] = f"{base_url}/account"
            if values.get("stage"):
                values["stage_name"] = STAGE_NAMES.get(values["stage"], values["stage"])
            if values.get("decision"):
                values["decision_name"] = DECISION_NAMES.get(values["decision"], values["decision"])
            if values.get("due_on"):
                values["due"] = format_date(date.fromisoformat(values["due_on"]), "long")
            if values.get("expires_at"):
                values["expires"] = format_datetime(datetime.fromisoformat(values["expires_at"]), "long")
            subject = _subject(kind, values)
            text = render_template(f"emails/{kind}.txt", **values)
            html = render_template(f"emails/{kind}.html", subject=subject, **values)
        return Message(subject, text, html)

    return render
