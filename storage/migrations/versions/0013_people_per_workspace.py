"""People's names per workspace: a user id seen in two workspaces gets a name in each (another
person, or the same one named differently).

A name kept before is copied to every workspace that has incidents (where it was shown); with no
incidents yet it is kept as team '', adopted with the other rows from before workspaces.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "people_new",
        sa.Column("team_id", sa.String(32), nullable=False, server_default=""),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "user_id", name="pk_people"),
    )
    op.execute(
        "INSERT INTO people_new (team_id, user_id, name) SELECT teams.team_id, people.user_id, people.name"
        " FROM people CROSS JOIN (SELECT DISTINCT team_id FROM incidents) AS teams"
    )
    op.execute(
        "INSERT INTO people_new (team_id, user_id, name) SELECT '', user_id, name FROM people"
        " WHERE NOT EXISTS (SELECT 1 FROM incidents)"
    )
    op.drop_table("people")
    op.rename_table("people_new", "people")


def downgrade() -> None:
    raise NotImplementedError("0013 keeps names per workspace; restore a backup to go back")
