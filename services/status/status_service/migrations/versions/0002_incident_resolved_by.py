"""incidents.resolved_by: what resolved an incident, so that one resolved because Alertmanager
no longer held its alert can be reopened when the alert comes back.

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
    op.add_column("incidents", sa.Column("resolved_by", sa.String(16), nullable=True))


def downgrade() -> None:
    op.drop_column("incidents", "resolved_by")
