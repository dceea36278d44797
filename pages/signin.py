"""Signing in and out, accepting an invitation, and one's own account (password and language)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from access.signin import InvitationError
from outbox.preferences import KINDS_FOR_ROLE
from pages.forms import (
    ChangePasswordForm,
    EmailChoicesForm,
    LanguageForm,
    SetPasswordForm,
    SignInForm,
    SignOutForm,
    refused_status,
)
from pages.i18n import LANGUAGES, SESSION_LANGUAGE, for_reader, language_of
from pages.session import Page, SignedIn, failed_sign_ins, safe_next, signed_in
from tracker.errors import ValidationError
from web.services import services

blp = Blueprint("signin", __name__, template_folder="templates")


def _start_session(person: Any) -> None:
    """Sign the person in with a fresh session (nothing of the session before it is kept)."""
    stamp = services().signin.stamp(person.id)
    assert stamp is not None
    language = session.get(SESSION_LANGUAGE)
    session.clear()
    if language:
        session[SESSION_LANGUAGE] = language
    session.permanent = True
    login_user(SignedIn(person, stamp))


@blp.route("/login", methods=["GET", "POST"])
def login() -> Page:
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = SignInForm()
    if not form.validate_on_submit():
        if request.method == "POST":
            return render_template("signin/login.html", form=form), refused_status(form)
        return render_template("signin/login.html", form=form)
    address, email = get_remote_address(), form.email.data
    if not failed_sign_ins().allowed(address, email):
        message = _("Too many failed sign-ins. Wait a few minutes, then try again.")
        return render_template("signin/login.html", form=form, error=message), 429
    person = services().signin.authenticate(email, form.password.data)
    if person is None:
        failed_sign_ins().failed(address, email)
        message = _("The e-mail address or the password is wrong.")
        return render_template("signin/login.html", form=form, error=message), 422
    _start_session(person)
    return redirect(safe_next(request.args.get("next")) or url_for("home.index"))


@blp.post("/logout")
def logout() -> Page:
    form = SignOutForm()
    if not form.validate_on_submit():
        return render_template("signin/message.html", message=_("The form expired. Sign out again.")), 400
    if current_user.is_authenticated:
        # Every session of the person ends, not only this browser's copy of the cookie.
        services().signin.sign_out(current_user.person.id)
    logout_user()
    language = session.get(SESSION_LANGUAGE)
    session.clear()
    if language:
        session[SESSION_LANGUAGE] = language
    flash(_("You are signed out."), "info")
    answer = redirect(url_for("signin.login"))
    # What the pages kept in this browser (an assessment's draft in the tab's storage) goes with the session: the
    # next person at this browser does not find it.
    answer.headers["Clear-Site-Data"] = '"storage"'
    return answer


def _invitation_invalid() -> Page:
    message = _(
        "This invitation is not valid any more: it was used, or it expired. Ask an administrator for a new one."
    )
    return render_template("signin/message.html", message=message), 404


@blp.route("/invitations/<token>", methods=["GET", "POST"])
def invitation(token: str) -> Page:
    signin = services().signin
    try:
        person = signin.invited(token)
    except InvitationError:
        return _invitation_invalid()
    for_reader(person.locale)
    form = SetPasswordForm()
    if not form.validate_on_submit():
        status = refused_status(form) if request.method == "POST" else 200
        return render_template("signin/invitation.html", form=form, person=person), status
    try:
        person = signin.accept(token, form.password.data)
    except InvitationError:
        return _invitation_invalid()
    picked = session.get(SESSION_LANGUAGE)
    if picked in LANGUAGES and picked != language_of(person.locale):
        # The language the person chose on the invitation's page becomes theirs: their pages stay in it.
        person = services().people.update(person.id, {"locale": picked}, actor_id=str(person.id))
    logout_user()
    _start_session(person)
    flash(_("Your password is set. Welcome, %(name)s.", name=person.display_name), "success")
    return redirect(url_for("home.index"))


def _account(password: ChangePasswordForm, emails: EmailChoicesForm | None = None) -> str:
    """The account page: the person's details, their password, and the e-mails their role is sent."""
    person = signed_in().person
    outbox = services().outbox
    kinds = KINDS_FOR_ROLE.get(person.role, ()) if outbox is not None else ()
    if emails is None and outbox is not None:
        emails = EmailChoicesForm(formdata=None, data=outbox.preferences.of(person.id))
    return render_template("signin/account.html", password=password, emails=emails, email_kinds=kinds)


@blp.route("/account", methods=["GET", "POST"])
@login_required
def account() -> Page:
    password = ChangePasswordForm()
    if password.validate_on_submit():
        try:
            services().signin.change_password(signed_in().person.id, password.current.data, password.password.data)
        except ValidationError:
            password.current.errors = [_("This is not your current password.")]
            return _account(password), 422
        _start_session(signed_in().person)
        flash(_("Your password is changed. Your other sessions are signed out."), "success")
        return redirect(url_for("signin.account"))
    if request.method == "POST":
        return _account(password), refused_status(password)
    return _account(password)


@blp.post("/account/emails")
@login_required
def account_emails() -> Page:
    """Turn the e-mails of the person's role on or off."""
    form = EmailChoicesForm()
    person = signed_in().person
    outbox = services().outbox
    kinds = KINDS_FOR_ROLE.get(person.role, ())
    if outbox is None or not kinds or not form.validate_on_submit():
        return _account(ChangePasswordForm(formdata=None), form), refused_status(form)
    outbox.preferences.set(person.id, {kind: bool(form[kind].data) for kind in kinds})
    flash(_("Your e-mail choices are saved."), "success")
    return redirect(url_for("signin.account"))


def return_path() -> str:
    """Where the language switcher on this page brings the reader back to: this page, or, for a page answered to a
    form (a POST, such as a form sent back with its errors), the page the form was on, since an address that only
    takes forms cannot be opened again."""
    if request.method in ("GET", "HEAD"):
        return request.full_path.rstrip("?")
    sent_from = urlsplit(request.referrer or "")
    if sent_from.netloc == request.host and sent_from.path.startswith("/"):
        return sent_from.path + (f"?{sent_from.query}" if sent_from.query else "")
    return url_for("home.index")


def _opens(path: str) -> bool:
    """Whether a page of this site answers GET at `path` (an unknown address answers its own "not found" page)."""
    try:
        current_app.url_map.bind(request.host).match(urlsplit(path).path, method="GET")
    except MethodNotAllowed:
        return False
    except HTTPException:  # not found, or a redirect to the canonical address
        return True
    return True


@blp.post("/language")
def language() -> Page:
    """The language switcher on every page: a signed-in person's setting changes, else this browser's."""
    form = LanguageForm()
    back = safe_next(form.next.data)
    if back is None or not _opens(back):
        back = url_for("home.index")
    if not form.validate_on_submit() or form.language.data not in LANGUAGES:
        message = _("The form expired or was not sent from this site. Go back and try again.")
        return render_template("signin/message.html", message=message), refused_status(form)
    if current_user.is_authenticated:
        person = signed_in().person
        services().people.update(person.id, {"locale": form.language.data}, actor_id=str(person.id))
    session[SESSION_LANGUAGE] = form.language.data
    return redirect(back)
