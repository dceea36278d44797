"""people: a table of people (outside the event log), the record of changes to them, and keys that belong to them

Each existing key gets a person of its own, named after the key, with the key's role and organisation.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    people = op.create_table(
        "people",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("name", sa.String(300)),
        sa.Column("email", sa.String(320)),
        sa.Column("email_key", sa.String(320), unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("organisation_id", sa.Uuid()),
        sa.Column("locale", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("erased_at", sa.DateTime()),
    )
    op.create_index("ix_people_role", "people", ["role", "organisation_id"])
    changes = op.create_table(
        "person_changes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor_id", sa.String(200), nullable=False),
        sa.Column("change", sa.String(16), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
    )
    op.create_index("ix_person_changes_person_id", "person_changes", ["person_id"])
    with op.batch_alter_table("api_keys") as batch_op:
        batch_op.add_column(sa.Column("person_id", sa.Uuid()))
        batch_op.create_index("ix_api_keys_person_id", ["person_id"])
    conn = op.get_bind()
    keys = sa.table(
        "api_keys",
        sa.column("id", sa.String),
        sa.column("name", sa.String),
        sa.column("role", sa.String),
        sa.column("organisation_id", sa.Uuid),
        sa.column("revoked_at", sa.DateTime),
        sa.column("person_id", sa.Uuid),
    )
    now = datetime.now(UTC).replace(tzinfo=None)
    for key in conn.execute(sa.select(keys)).mappings().all():
        person_id = uuid.uuid4()
        conn.execute(
            people.insert().values(
                id=person_id,
                name=key["name"],
                email=None,
                email_key=None,
                role=key["role"],
                organisation_id=key["organisation_id"],
                locale="en",
                active=key["revoked_at"] is None,
                created_at=now,
                updated_at=now,
                erased_at=None,
            )
        )
        fields = {"role": key["role"], "organisation_id": str(key["organisation_id"] or "") or None, "name": "changed"}
        conn.execute(
            changes.insert().values(person_id=person_id, at=now, actor_id="migration", change="created", fields=fields)
        )
        conn.execute(sa.update(keys).where(keys.c.id == key["id"]).values(person_id=person_id))


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch_op:
        batch_op.drop_index("ix_api_keys_person_id")
        batch_op.drop_column("person_id")
    op.drop_table("person_changes")
    op.drop_table("people")
