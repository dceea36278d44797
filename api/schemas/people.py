"""People, their keys, and the caller as a person."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from access.people import EMAIL_MAX
from api.schemas.common import SEARCH, SHORT, Input, PageQuery, StrictBool
from tracker.actors import PERSON_ROLES

ROLE = validate.OneOf(PERSON_ROLES)
EMAIL = validate.Length(min=3, max=EMAIL_MAX)
LOCALE = validate.Regexp(r"^[a-z]{2}(-[A-Z]{2})?$", error="Must be a language tag such as en, fr or pt-PT.")
KEY_NAME = validate.Regexp(
    r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$", error="1-100 letters, digits or . _ @ -, starting with a letter or digit."
)


class PersonInput(Input):
    name = fields.Str(required=True, validate=SHORT)
    email = fields.Str(required=True, validate=EMAIL)
    role = fields.Str(required=True, validate=ROLE)
    organisation_id = fields.UUID(allow_none=True, metadata={"description": "Required for providers and evaluators."})
    locale = fields.Str(validate=LOCALE, metadata={"description": "The person's language (default en)."})


class PersonPatch(Input):
    name = fields.Str(validate=SHORT)
    email = fields.Str(validate=EMAIL)
    role = fields.Str(validate=ROLE)
    organisation_id = fields.UUID(allow_none=True)
    locale = fields.Str(validate=LOCALE)
    active = StrictBool(metadata={"description": "false stops every key and session of the person at once."})


class PeopleQuery(PageQuery):
    role = fields.Str(validate=ROLE)
    organisation_id = fields.UUID()
    q = fields.Str(validate=SEARCH, metadata={"description": "Text in the name or address."})


class PersonSchema(Schema):
    id = fields.UUID(required=True)
    name = fields.Str(required=True, metadata={"description": '"erased person" once erased.'})
    email = fields.Str(allow_none=True)
    role = fields.Str(required=True)
    organisation_id = fields.UUID(allow_none=True)
    locale = fields.Str(required=True)
    active = fields.Bool(required=True)


class MeSchema(Schema):
    id = fields.UUID(required=True)
    name = fields.Str(required=True)
    role = fields.Str(required=True)
    organisation_id = fields.UUID(allow_none=True)
    locale = fields.Str(required=True)


class KeyInput(Input):
    name = fields.Str(required=True, validate=KEY_NAME)


class KeyCreatedSchema(Schema):
    name = fields.Str(required=True)
    key = fields.Str(required=True, metadata={"description": "The key itself: shown this once, stored only hashed."})
    id = fields.Str(required=True)
    created_at = fields.AwareDateTime(format="iso", required=True)


class KeySchema(Schema):
    id = fields.Str(required=True)
    name = fields.Str(required=True)
    created_at = fields.AwareDateTime(format="iso", required=True)
    revoked_at = fields.AwareDateTime(format="iso", allow_none=True)


class PersonChangeSchema(Schema):
    at = fields.AwareDateTime(format="iso", required=True)
    actor_id = fields.Str(required=True, metadata={"description": "Who made the change (a person's id)."})
    change = fields.Str(required=True, metadata={"description": "created, updated or erased"})
    fields_ = fields.Dict(
        data_key="fields",
        required=True,
        metadata={"description": 'New role, organisation, language or active flag; "changed" for a name or address.'},
    )
