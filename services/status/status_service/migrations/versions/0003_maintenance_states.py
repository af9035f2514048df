"""maintenances: Statuspage's states (scheduled, in_progress, verifying, completed), a public
description, and planned work that ends when its components are healthy again (`stack
restart`, `stack down` then `up`) rather than at a fixed time.

Revision ID: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "maintenances",
        sa.Column("status", sa.String(16), nullable=False, server_default="scheduled"),
    )
    op.add_column("maintenances", sa.Column("body", sa.Text(), nullable=False, server_default=""))
    op.add_column(
        "maintenances",
        sa.Column("until_healthy", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "maintenances", sa.Column("started_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "maintenances", sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index("ix_maintenances_status", "maintenances", ["status"])


def downgrade() -> None:
    op.drop_index("ix_maintenances_status", "maintenances")
    for column in ("completed_at", "started_at", "until_healthy", "body", "status"):
        op.drop_column("maintenances", column)
