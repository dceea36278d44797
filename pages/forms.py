"""The pages' forms (Flask-WTF): each carries a CSRF token, and every label and message is translatable."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, RadioField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, EqualTo, InputRequired, Length

from access.signin import PASSWORD_MAX, PASSWORD_MIN
from pages.i18n import LANGUAGES
from pages.vocabulary import CRITERIA
from tracker import limits
from tracker.rubric import CURRENT_RUBRIC


def _new_password(label: str) -> PasswordField:
    return PasswordField(
        label,
        validators=[
            DataRequired(message=_l("Enter a password.")),
            Length(
                min=PASSWORD_MIN,
                max=PASSWORD_MAX,
                message=_l("Use at least %(min)d characters.", min=PASSWORD_MIN),
            ),
        ],
        render_kw={"autocomplete": "new-password", "minlength": PASSWORD_MIN},
    )


class SignInForm(FlaskForm):  # type: ignore[misc]
    email = EmailField(
        _l("E-mail address"),
        validators=[DataRequired(message=_l("Enter your e-mail address.")), Length(max=320)],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(message=_l("Enter your password.")), Length(max=PASSWORD_MAX)],
        render_kw={"autocomplete": "current-password"},
    )
    submit = SubmitField(_l("Sign in"))


class SetPasswordForm(FlaskForm):  # type: ignore[misc]
    password = _new_password(_l("New password"))
    confirm = PasswordField(
        _l("The same password again"),
        validators=[EqualTo("password", message=_l("The two passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField(_l("Set password"))


class ChangePasswordForm(FlaskForm):  # type: ignore[misc]
    current = PasswordField(
        _l("Current password"),
        validators=[DataRequired(message=_l("Enter your current password."))],
        render_kw={"autocomplete": "current-password"},
    )
    password = _new_password(_l("New password"))
    confirm = PasswordField(
        _l("The same password again"),
        validators=[EqualTo("password", message=_l("The two passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField(_l("Change password"))


class LanguageForm(FlaskForm):  # type: ignore[misc]
    language = StringField(_l("Language"), validators=[AnyOf(list(LANGUAGES))])
    next = HiddenField()
    submit = SubmitField(_l("Change language"))


class SignOutForm(FlaskForm):  # type: ignore[misc]
    submit = SubmitField(_l("Sign out"))


def refused_status(form: FlaskForm) -> int:
    """The status of a form sent back with errors: 400 when its CSRF token is missing or wrong (the form did not
    come from this site, or the session it came with ended), else 422."""
    return 400 if form.meta.csrf and form.csrf_token.errors else 422


NOT_ASSESSABLE = "na"


class AssessmentForm(FlaskForm):  # type: ignore[misc]
    """The rubric: a level or "not assessable" and a comment for each criterion (added below from the rubric), the
    rationale, and the version of the innovation the evaluator read."""

    rationale = TextAreaField(
        _l("Rationale"),
        validators=[DataRequired(message=_l("Explain your assessment.")), Length(max=limits.TEXT_MAX)],
    )
    version = HiddenField()

    def scores(self) -> dict[str, int | None]:
        return {key: _level(self[f"score_{key}"].data) for key in CURRENT_RUBRIC.keys}

    def comments(self) -> dict[str, str]:
        return {key: self[f"comment_{key}"].data or "" for key in CURRENT_RUBRIC.keys}


def _level(value: str | None) -> int | None:
    return None if value in (None, "", NOT_ASSESSABLE) else int(value)


for _key in CURRENT_RUBRIC.keys:
    setattr(
        AssessmentForm,
        f"score_{_key}",
        RadioField(
            CRITERIA[_key][0],
            choices=[SelectChoice(str(level), str(level)) for level in CURRENT_RUBRIC.scale]
            + [SelectChoice(NOT_ASSESSABLE, NOT_ASSESSABLE)],
            validators=[InputRequired(message=_l("Choose a level, or mark the criterion as not assessable."))],
        ),
    )
    setattr(
        AssessmentForm,
        f"comment_{_key}",
        TextAreaField(
            _l("Comment on %(criterion)s", criterion=CRITERIA[_key][0]), validators=[Length(max=limits.COMMENT_MAX)]
        ),
    )
