"""The domain's refusals as the pages say them, in the reader's language: one sentence per rule a form of the pages
can meet. A rule with no sentence here is shown in the domain's own words, after "Refused:" ("Not accepted:" beside a
field)."""

from __future__ import annotations

from flask_babel import gettext as _

from tracker.errors import DomainError, ValidationError


def _sentences() -> dict[str, str]:
    # Built on each call: the sentences follow the request's language.
    web_address = _("Give a web address starting with https:// or http://, such as https://example.org/report.")
    return {
        "validation.date.order": _("The end date must not be before the start date."),
        "validation.date.past": _("The due date must not be before today."),
        "validation.url": web_address,
        "validation.website": web_address,
        "validation.country": _("Give the country as its two-letter ISO code, such as LT or IT."),
        "validation.themes.required": _("Name at least one theme."),
        "hold.only_resume_or_discontinue": _(
            "This innovation is on hold: it takes only a decision to resume or to discontinue it."
        ),
        "terminal.discontinued": _("This innovation is discontinued and takes no more changes."),
        "terminal.mainstreamed": _("This innovation is mainstreamed: it takes only evidence and adoptions."),
        "adoption.owner": _("An organisation does not adopt its own innovation."),
        "duplicate.adoption": _("This organisation has already recorded adopting this innovation."),
        "duplicate.membership.coordinator": _("An ecosystem has one coordinator, and this one has one already."),
        "ecosystem.not_member": _("The innovation's organisation is not a member of this ecosystem."),
    }


def sentence(error: DomainError) -> str | None:
    """The pages' sentence for the refusal's rule, or None where they have none."""
    return _sentences().get(error.rule)


def refused(error: DomainError) -> str:
    """A refusal of the whole form."""
    return sentence(error) or _("Refused: %(reason)s", reason=error.message)


def not_accepted(error: ValidationError) -> str:
    """A refusal of one field, shown beside it."""
    return sentence(error) or _("Not accepted: %(reason)s", reason=error.field_message)
