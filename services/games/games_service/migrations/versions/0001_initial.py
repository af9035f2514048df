"""games and the outbox.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from chassis import outbox_columns

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "games",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("player_x", sa.Uuid, nullable=False),
        sa.Column("player_o", sa.Uuid, nullable=True),
        sa.Column("vs_house", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("board", sa.String(9), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("result", sa.String(8), nullable=True),
        sa.Column("winner", sa.Uuid, nullable=True),
        sa.Column("moves", sa.Integer, nullable=False, server_default="0"),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('open', 'in_progress', 'finished')", name="ck_games_status"),
        sa.CheckConstraint("length(board) = 9", name="ck_games_board"),
    )
    op.create_index("ix_games_status", "games", ["status"])
    op.create_index("ix_games_player_x", "games", ["player_x"])
    op.create_index("ix_games_player_o", "games", ["player_o"])
    op.create_table("outbox", *outbox_columns())
    op.create_index(
        "ix_outbox_unsent", "outbox", ["occurred_at"], postgresql_where=sa.text("sent_at IS NULL")
    )


def downgrade() -> None:
    for table in ("outbox", "games"):
        op.drop_table(table)
