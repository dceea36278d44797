"""The pages' forms (Flask-WTF): each carries a CSRF token, and every label and message is translatable."""

from __future__ import annotations

import contextlib
from typing import Any
from uuid import UUID

from babel.numbers import NumberFormatError, parse_decimal
from flask_babel import get_locale, get_translations, lazy_ngettext, lazy_pgettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    URLField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    AnyOf,
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    StopValidation,
)
from wtforms.widgets import TextInput

from access.keys import NAME as KEY_NAME
from access.signin import PASSWORD_MAX, PASSWORD_MIN
from pages.i18n import LANGUAGES
from pages.vocabulary import CRITERIA
from tracker import event_types, limits
from tracker.actors import PERSON_ROLES
from tracker.ecosystem import MEMBER_ROLES
from tracker.organisation import ORGANISATION_KINDS
from tracker.rubric import CURRENT_RUBRIC
from tracker.stages import DECISIONS, EVIDENCE_KINDS, STAGES

# WTForms' own messages that the pages' forms can show (a value too long, a choice not offered, a number out of
# range, …), word for word as WTForms says them: named here so that they are in the pages' catalogues, where every
# shipped language has them (WTForms ships no Lithuanian). Form looks them up there.
WTFORMS_MESSAGES = (
    lazy_ngettext(
        "Field must be at least %(min)d character long.", "Field must be at least %(min)d characters long.", 1
    ),
    lazy_ngettext(
        "Field cannot be longer than %(max)d character.", "Field cannot be longer than %(max)d characters.", 1
    ),
    lazy_ngettext("Field must be exactly %(max)d character long.", "Field must be exactly %(max)d characters long.", 1),
    _l("Field must be between %(min)d and %(max)d characters long."),
    _l("Number must be at least %(min)s."),
    _l("Number must be at most %(max)s."),
    _l("Number must be between %(min)s and %(max)s."),
    _l("This field is required."),
    _l("Invalid input."),
    _l("Invalid value, must be one of: %(values)s."),
    _l("Not a valid choice."),
    _l("Invalid Choice: could not coerce."),
    lazy_ngettext(
        "'%(value)s' is not a valid choice for this field.", "'%(value)s' are not valid choices for this field.", 1
    ),
    _l("Invalid choice(s): one or more data inputs could not be coerced."),
    _l("Not a valid date value."),
    _l("Not a valid integer value."),
    _l("Not a valid decimal value."),
)


class _Catalogue:
    """WTForms' translations interface over the pages' catalogue in the reader's language (no formatting: WTForms
    fills the placeholders itself)."""

    def gettext(self, string: str) -> str:
        return str(get_translations().gettext(string))

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return str(get_translations().ngettext(singular, plural, n))


_CATALOGUE = _Catalogue()


class Form(FlaskForm):  # type: ignore[misc]
    """The pages' forms: Flask-WTF's, with WTForms' own messages in the reader's language."""

    class Meta:
        def get_translations(self, form: Any) -> _Catalogue:
            return _CATALOGUE


class _FirstErrorOnly:
    """A field whose text could not be read as its type says so once, in the reader's language, and is not also
    checked against its range (which would add a second, beside the point)."""

    process_errors: list[Any]
    raw_data: list[Any] | None

    def pre_validate(self, form: Any) -> None:
        # Left empty, the validators say what they say (Optional clears the error, InputRequired asks for a value).
        typed = bool(self.raw_data and str(self.raw_data[0]).strip())
        if self.process_errors and typed:
            raise StopValidation()


class WholeField(_FirstErrorOnly, IntegerField):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("invalid_value_message", _l("Give a whole number, such as 12."))
        super().__init__(*args, **kwargs)


class NumberField(_FirstErrorOnly, DecimalField):  # type: ignore[misc]
    """A decimal number as the reader writes it: 85.5, or in a language that writes it so, 85,5.

    In a text box that asks phones for a number pad: a browser's number box drops a decimal comma and sends 855 for
    85,5, where a text box sends what was typed, for parse_decimal to read in the reader's language."""

    widget = TextInput()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("invalid_value_message", _l("Give a number, such as 85.5."))
        kwargs.setdefault("places", None)
        kwargs["render_kw"] = {"inputmode": "decimal", **(kwargs.get("render_kw") or {})}
        super().__init__(*args, **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        if valuelist and isinstance(valuelist[0], str):
            text = valuelist[0].strip()
            # Not a number in the reader's language: left as it is, for DecimalField to read or to refuse.
            with contextlib.suppress(NumberFormatError):
                valuelist = [str(parse_decimal(text, locale=str(get_locale() or "en"), strict=True))]
        super().process_formdata(valuelist)
        if self.data is not None and not self.data.is_finite():  # NaN, sNaN, Infinity: not a number to record
            self.data = None
            raise ValueError(self.invalid_value_message)


class DayField(_FirstErrorOnly, DateField):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("invalid_value_message", _l("Give a date as YYYY-MM-DD, such as 2025-01-10."))
        super().__init__(*args, **kwargs)


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


class SignInForm(Form):
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


class SetPasswordForm(Form):
    password = _new_password(_l("New password"))
    confirm = PasswordField(
        _l("The same password again"),
        validators=[EqualTo("password", message=_l("The two passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField(_l("Set password"))


class ChangePasswordForm(Form):
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


class LanguageForm(Form):
    language = StringField(_l("Language"), validators=[AnyOf(list(LANGUAGES))])
    next = HiddenField()
    submit = SubmitField(_l("Change language"))


class WebhookForm(Form):
    url = StringField(
        _l("Address (https)"),
        validators=[DataRequired(message=_l("Give the address the events are sent to.")), Length(max=2000)],
    )
    event_types = SelectMultipleField(
        _l("Event types"),
        choices=[SelectChoice("*", _l("every event type"))] + [SelectChoice(n, n) for n in sorted(event_types.NAMES)],
        validators=[DataRequired(message=_l("Choose at least one event type."))],
    )
    description = StringField(_l("Description (optional)"), validators=[Length(max=500)])


class ReplayForm(Form):
    after = WholeField(
        _l("After log position"),
        validators=[InputRequired(message=_l("Give a log position, 0 or more.")), NumberRange(min=0, max=2**62)],
    )


class EmailChoicesForm(Form):
    """Which e-mails a person receives (outbox.preferences); the page shows the kinds their role is sent."""

    evaluator_assigned = BooleanField(_l("an innovation is assigned to me for assessment"))
    gate_decision = BooleanField(_l("a decision is recorded on one of my organisation's innovations"))
    endpoint_disabled = BooleanField(_l("a webhook endpoint is disabled"))
    submit = SubmitField(_l("Save e-mail choices"))


class SignOutForm(Form):
    submit = SubmitField(_l("Sign out"))


def refused_status(form: FlaskForm) -> int:
    """The status of a form sent back with errors: 400 when its CSRF token is missing or wrong (the form did not
    come from this site, or the session it came with ended), else 422."""
    return 400 if form.meta.csrf and form.csrf_token.errors else 422


NOT_ASSESSABLE = "na"


class AssessmentForm(Form):
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


class AssignForm(Form):
    """Assign an evaluator (the choices are set per innovation: those who may be assigned now)."""

    evaluator = SelectField(
        _l("Evaluator"), validate_choice=False, validators=[DataRequired(message=_l("Choose an evaluator."))]
    )
    due_on = DayField(_l("Due on (optional)"), validators=[Optional()])

    def validate_evaluator(self, field: SelectField) -> None:
        if field.data not in {choice.value for choice in field.choices or []}:
            raise StopValidation(_l("Choose one of the evaluators listed."))


class UnassignForm(Form):
    """End an assignment (the evaluator is named in the address)."""


class DecisionForm(Form):
    decision = RadioField(
        _l("Decision"),
        choices=[SelectChoice(d, d) for d in DECISIONS],
        validators=[InputRequired(message=_l("Choose a decision."))],
    )
    to_stage = SelectField(
        _l("Send back to"), choices=[SelectChoice("", "")] + [SelectChoice(s, s) for s in STAGES], validate_choice=False
    )
    rationale = TextAreaField(
        _l("Reasons"),
        validators=[DataRequired(message=_l("Give the reasons for the decision.")), Length(max=limits.TEXT_MAX)],
    )
    version = HiddenField()


def _labels(text: str | None) -> list[str]:
    """Themes or target groups typed as a comma-separated list."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]


class InnovationForm(Form):
    title = StringField(
        _l("Title"), validators=[DataRequired(message=_l("Give a title.")), Length(max=limits.NAME_MAX)]
    )
    summary = TextAreaField(
        _l("Summary"),
        validators=[DataRequired(message=_l("Describe the innovation.")), Length(max=limits.TEXT_MAX)],
    )
    themes = StringField(
        _l("Themes, separated by commas"), validators=[DataRequired(message=_l("Name at least one theme."))]
    )
    target_groups = StringField(_l("Target groups, separated by commas (optional)"))
    readiness_level = WholeField(
        _l("Readiness level, 1 to 9 (optional)"),
        validators=[
            Optional(),
            NumberRange(min=limits.READINESS.low, max=limits.READINESS.high, message=_l("From 1 to 9.")),
        ],
    )
    version = HiddenField()

    def details(self) -> dict[str, object]:
        return {
            "title": self.title.data,
            "summary": self.summary.data,
            "themes": _labels(self.themes.data),
            "target_groups": _labels(self.target_groups.data),
            "readiness_level": self.readiness_level.data,
        }


class SubmissionForm(InnovationForm):
    """A new innovation: its details, and the ecosystem it is piloted in. The page offers those its organisation is
    a member of; whether it may be placed in the one sent is the domain's rule (Ecosystem.check_may_hold)."""

    ecosystem_id = SelectField(_l("Ecosystem (optional)"), validate_choice=False)

    def validate_ecosystem_id(self, field: SelectField) -> None:
        # Left out (the page offers no ecosystem where the organisation is in none) is the same as none chosen.
        if field.data:
            try:
                UUID(field.data)
            except ValueError:
                raise StopValidation(_l("Choose one of the ecosystems listed.")) from None

    def placement(self) -> dict[str, object]:
        """The submission's ecosystem, where one is chosen."""
        return {"ecosystem_id": UUID(self.ecosystem_id.data)} if self.ecosystem_id.data else {}


class PilotForm(Form):
    site = SelectField(
        _l("Where it is piloted"), validate_choice=False, validators=[DataRequired(message=_l("Choose the site."))]
    )
    started_on = DayField(_l("Started on"), validators=[InputRequired(message=_l("Give the start date."))])
    planned_participants = WholeField(
        _l("Planned participants (optional)"),
        validators=[Optional(), NumberRange(min=0, message=_l("A number of people, 0 or more."))],
    )
    description = TextAreaField(_l("Description (optional)"), validators=[Length(max=limits.TEXT_MAX)])
    version = HiddenField()


class OutcomeForm(Form):
    ended_on = DayField(_l("Ended on"), validators=[InputRequired(message=_l("Give the end date."))])
    participants = WholeField(
        _l("Participants"),
        validators=[
            InputRequired(message=_l("Give the number of participants.")),
            NumberRange(min=0, message=_l("A number of people, 0 or more.")),
        ],
    )
    completion_rate = NumberField(
        _l("Completion rate, in percent"),
        validators=[
            InputRequired(message=_l("Give the completion rate.")),
            NumberRange(min=0, max=100, message=_l("From 0 to 100.")),
        ],
    )
    satisfaction = NumberField(
        _l("Satisfaction, 0 to 5 (optional)"),
        validators=[Optional(), NumberRange(min=0, max=5, message=_l("From 0 to 5."))],
    )
    notes = TextAreaField(_l("Notes (optional)"), validators=[Length(max=limits.TEXT_MAX)])
    version = HiddenField()


class EvidenceForm(Form):
    kind = SelectField(_l("Kind"), choices=[SelectChoice(k, k) for k in EVIDENCE_KINDS])
    title = StringField(
        _l("Title"), validators=[DataRequired(message=_l("Give a title.")), Length(max=limits.NAME_MAX)]
    )
    url = URLField(_l("Address on the web (optional)"), validators=[Optional(), Length(max=2000)])
    description = TextAreaField(_l("Description (optional)"), validators=[Length(max=limits.TEXT_MAX)])
    version = HiddenField()


class AdoptionForm(Form):
    adopted_on = DayField(_l("Adopted on"), validators=[InputRequired(message=_l("Give the date."))])
    notes = TextAreaField(_l("Notes (optional)"), validators=[Length(max=limits.TEXT_MAX)])
    version = HiddenField()


class PersonForm(Form):
    """A person as an admin invites them (the organisation's choices are set per page from the directory)."""

    name = StringField(_l("Name"), validators=[DataRequired(message=_l("Give the name.")), Length(max=limits.NAME_MAX)])
    email = EmailField(
        _l("E-mail address"), validators=[DataRequired(message=_l("Give the address.")), Length(max=320)]
    )
    role = SelectField(_l("Role"), choices=[SelectChoice(r, r) for r in PERSON_ROLES])
    organisation = SelectField(
        _l("Organisation (providers and evaluators; managers may have one)"), validate_choice=False
    )
    locale = SelectField(_l("Language"), choices=[SelectChoice(code, name) for code, name in LANGUAGES.items()])


class RoleForm(Form):
    role = SelectField(_l("Role"), choices=[SelectChoice(r, r) for r in PERSON_ROLES])
    organisation = SelectField(
        _l("Organisation (providers and evaluators; managers may have one)"), validate_choice=False
    )


class ConfirmForm(Form):
    """A change that needs no field: deactivate, reactivate, a new invitation, a key revoked."""


class EraseForm(Form):
    confirm = BooleanField(
        _l("I understand that the name and address are removed for good"),
        validators=[DataRequired(message=_l("Tick the box to erase this person."))],
    )


class DeleteEndpointForm(Form):
    confirm = BooleanField(
        _l("I understand that the endpoint and its delivery log are deleted for good"),
        validators=[DataRequired(message=_l("Tick the box to delete this endpoint."))],
    )


class KeyForm(Form):
    # Not `name`: the person's page also has the details form, whose `name` field would share its id.
    key_name = StringField(
        _l("Name of the key"),
        validators=[
            DataRequired(message=_l("Name the key, for example after the script that uses it.")),
            # The key store's own rule (access.keys.NAME), said before the store refuses it in its own words.
            Regexp(
                KEY_NAME,
                message=_l("Use up to 100 letters a-z, digits or . _ @ -, starting with a letter or a digit."),
            ),
        ],
    )


class OrganisationForm(Form):
    name = StringField(
        lazy_pgettext("organisation", "Name"),
        validators=[DataRequired(message=lazy_pgettext("organisation", "Give the name.")), Length(max=limits.NAME_MAX)],
    )
    country = StringField(
        _l("Country (two letters, such as LT)"),
        validators=[DataRequired(message=_l("Give the country.")), Length(min=2, max=2, message=_l("Two letters."))],
    )
    kind = SelectField(_l("Kind"), choices=[SelectChoice(k, k) for k in ORGANISATION_KINDS])


class EcosystemForm(Form):
    acronym = StringField(_l("Acronym"), validators=[DataRequired(message=_l("Give the acronym.")), Length(max=80)])
    title = StringField(
        _l("Title"), validators=[DataRequired(message=_l("Give a title.")), Length(max=limits.NAME_MAX)]
    )


class MemberForm(Form):
    organisation = SelectField(
        _l("Organisation"), validate_choice=False, validators=[DataRequired(message=_l("Choose an organisation."))]
    )
    role = SelectField(_l("Role in the ecosystem"), choices=[SelectChoice(r, r) for r in MEMBER_ROLES])
    version = HiddenField()


class ImportForm(Form):
    source = SelectField(
        _l("What the file is"),
        choices=[
            SelectChoice("cove", _l("Centres of Vocational Excellence (JSON)")),
            SelectChoice("erasmus", _l("Erasmus+ projects export (CSV or XLSX)")),
        ],
    )
    file = FileField(_l("File"), validators=[FileRequired(message=_l("Choose a file."))])
    filters = TextAreaField(
        _l("Erasmus+ only: rows to keep, one filter a line (optional)"),
        validators=[Length(max=6000)],
    )
    dry_run = BooleanField(_l("Only check the file: write nothing, and say what importing it would do"))


class DetailsForm(Form):
    """A person's name, address and language, as an admin corrects them."""

    name = StringField(_l("Name"), validators=[DataRequired(message=_l("Give the name.")), Length(max=limits.NAME_MAX)])
    email = EmailField(
        _l("E-mail address"), validators=[DataRequired(message=_l("Give the address.")), Length(max=320)]
    )
    locale = SelectField(_l("Language"), choices=[SelectChoice(code, name) for code, name in LANGUAGES.items()])
