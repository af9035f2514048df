"""request_replays: answers to changes, so a request sent twice is applied once.

Revision ID: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "request_replays",
        sa.Column("request_id", sa.String(128), primary_key=True),
        sa.Column("user_id", sa.Uuid, primary_key=True),
        sa.Column("request", sa.String(64), nullable=False),
        sa.Column("answer", sa.JSON, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_index("ix_request_replays_created_at", "request_replays", ["created_at"])


def downgrade() -> None:
    op.drop_table("request_replays")
