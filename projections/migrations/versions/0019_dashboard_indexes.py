"""the dashboard's indexes: the innovation list sorted by ecosystem (ties by submission), and the facets as of an
instant counted from indexes alone (organisations, ecosystems and themes with the innovation's submission time)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

# A rebuild left unfinished has dropped the secondary indexes already (it builds them again at its end).
WIDENED = (("ix_rm_innovations_organisation", "organisation_id"), ("ix_rm_innovations_ecosystem", "ecosystem_id"))


def upgrade() -> None:
    op.create_index("ix_rm_innovations_ecosystem_acronym", "rm_innovations", ["ecosystem_acronym", "submitted_at"])
    for name, column in WIDENED:
        op.drop_index(name, table_name="rm_innovations", if_exists=True)
        op.create_index(name, "rm_innovations", [column, "submitted_at"])
    with op.batch_alter_table("rm_innovation_themes") as batch:
        batch.add_column(sa.Column("submitted_at", sa.DateTime()))
    op.get_bind().exec_driver_sql(
        "UPDATE rm_innovation_themes SET submitted_at = "
        "(SELECT i.submitted_at FROM rm_innovations i WHERE i.id = rm_innovation_themes.innovation_id)"
    )
    op.create_index("ix_rm_innovation_themes_submitted", "rm_innovation_themes", ["theme", "submitted_at"])


def downgrade() -> None:
    op.drop_index("ix_rm_innovation_themes_submitted", table_name="rm_innovation_themes", if_exists=True)
    with op.batch_alter_table("rm_innovation_themes") as batch:
        batch.drop_column("submitted_at")
    for name, column in WIDENED:
        op.drop_index(name, table_name="rm_innovations", if_exists=True)
        op.create_index(name, "rm_innovations", [column])
    op.drop_index("ix_rm_innovations_ecosystem_acronym", table_name="rm_innovations", if_exists=True)
