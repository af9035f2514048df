"""profiles (with game stats) and processed_events.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from chassis import processed_events_columns

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "profiles",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("username", sa.String(64), nullable=True),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("display_name", sa.String(64), nullable=True),
        sa.Column("bio", sa.String(500), nullable=True),
        sa.Column("games_played", sa.Integer, nullable=False, server_default="0"),
        sa.Column("games_won", sa.Integer, nullable=False, server_default="0"),
        sa.Column("games_lost", sa.Integer, nullable=False, server_default="0"),
        sa.Column("games_drawn", sa.Integer, nullable=False, server_default="0"),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_table("processed_events", *processed_events_columns())


def downgrade() -> None:
    for table in ("processed_events", "profiles"):
        op.drop_table(table)
