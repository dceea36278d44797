"""Organisations and ecosystems: what the API accepts and answers."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import COUNTRY, SEARCH, SHORT, URL, CountryFilter, Day, Input, Money, PageQuery, StrictBool
from projections.queries.directory import ECOSYSTEM_SORTS
from tracker import limits
from tracker.ecosystem import MEMBER_ROLES
from tracker.organisation import ORGANISATION_KINDS

# ---- organisations -----------------------------------------------------------------------


class OrganisationInput(Input):
    name = fields.Str(required=True, validate=SHORT)
    country = fields.Str(required=True, validate=COUNTRY)
    kind = fields.Str(required=True, validate=validate.OneOf(ORGANISATION_KINDS))
    pic = fields.Str(validate=validate.Length(min=1, max=limits.IDENTIFIER_MAX), allow_none=True)
    oid = fields.Str(validate=validate.Length(min=1, max=limits.IDENTIFIER_MAX), allow_none=True)
    website = fields.Str(validate=URL, allow_none=True)


class OrganisationSchema(Schema):
    id = fields.UUID(required=True)
    name = fields.Str(required=True)
    country = fields.Str(required=True)
    kind = fields.Str(required=True)
    pic = fields.Str(allow_none=True)
    oid = fields.Str(allow_none=True)
    website = fields.Str(allow_none=True)
    registered_at = fields.AwareDateTime(format="iso")
    version = fields.Int(strict=True, required=True)


class OrganisationQuery(PageQuery):
    country = CountryFilter()
    kind = fields.Str(validate=validate.OneOf(ORGANISATION_KINDS))
    q = fields.Str(validate=SEARCH)


# ---- ecosystems --------------------------------------------------------------------------


class MemberInput(Input):
    organisation_id = fields.UUID(required=True)
    role = fields.Str(required=True, validate=validate.OneOf(MEMBER_ROLES))


class EcosystemInput(Input):
    acronym = fields.Str(required=True, validate=validate.Length(min=1, max=limits.ACRONYM_MAX))
    title = fields.Str(required=True, validate=validate.Length(min=1, max=limits.ECOSYSTEM_TITLE_MAX))
    programme = fields.Str(validate=validate.Length(min=1, max=limits.PROGRAMME_MAX), allow_none=True)
    key_action = fields.Str(validate=validate.Length(min=1, max=limits.ACTION_MAX), allow_none=True)
    action_type = fields.Str(validate=validate.Length(min=1, max=limits.ACTION_MAX), allow_none=True)
    project_identifier = fields.Str(validate=validate.Length(min=1, max=limits.PROJECT_IDENTIFIER_MAX), allow_none=True)
    call_year = fields.Int(strict=True, validate=validate.Range(min=limits.FIRST_CALL_YEAR, max=2100), allow_none=True)
    start_date = Day(allow_none=True)
    end_date = Day(allow_none=True)
    eu_grant_eur = Money(allow_none=True)
    is_good_practice = StrictBool(load_default=False)
    is_success_story = StrictBool(load_default=False)
    members = fields.List(fields.Nested(MemberInput), load_default=list, validate=validate.Length(max=2000))


class MemberSchema(Schema):
    organisation_id = fields.UUID(required=True)
    name = fields.Str()
    country = fields.Str()
    role = fields.Str(required=True)
    joined_at = fields.AwareDateTime(format="iso")


class EcosystemSchema(Schema):
    id = fields.UUID(required=True)
    acronym = fields.Str(required=True)
    title = fields.Str(required=True)
    programme = fields.Str(allow_none=True)
    key_action = fields.Str(allow_none=True)
    action_type = fields.Str(allow_none=True)
    project_identifier = fields.Str(allow_none=True)
    call_year = fields.Int(strict=True, allow_none=True)
    start_date = fields.Date(allow_none=True)
    end_date = fields.Date(allow_none=True)
    eu_grant_eur = Money(allow_none=True)
    is_good_practice = fields.Bool()
    is_success_story = fields.Bool()
    member_count = fields.Int(strict=True)
    registered_at = fields.AwareDateTime(format="iso")
    updated_at = fields.AwareDateTime(format="iso")
    version = fields.Int(strict=True, required=True)


class EcosystemDetailSchema(EcosystemSchema):
    members = fields.List(fields.Nested(MemberSchema), required=True)


class EcosystemQuery(PageQuery):
    country = CountryFilter()
    q = fields.Str(validate=SEARCH)
    sort = fields.Str(load_default="acronym", validate=validate.OneOf(ECOSYSTEM_SORTS))
