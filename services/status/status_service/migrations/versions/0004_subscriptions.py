"""subscriptions: subscribers (email, confirmed by a link, or webhook), the outbox of their
deliveries (retried with backoff, kept as the record), and the sign-ups of the last hour that
the per-address and per-client limits count.

Revision ID: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "subscribers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("address", sa.String(2048), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("confirm_token", sa.String(64), nullable=True),
        sa.Column("unsubscribe_token", sa.String(64), nullable=False),
        sa.Column("page_url", sa.String(2048), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("confirmed_at", TS, nullable=True),
        sa.Column("unsubscribed_at", TS, nullable=True),
        sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default="0"),
        sa.CheckConstraint("kind IN ('email', 'webhook')", name="ck_subscribers_kind"),
        sa.CheckConstraint(
            "state IN ('pending', 'confirmed', 'failing', 'unsubscribed')",
            name="ck_subscribers_state",
        ),
    )
    op.create_index("ux_subscribers_address", "subscribers", ["kind", "address"], unique=True)
    op.create_index("ux_subscribers_confirm_token", "subscribers", ["confirm_token"], unique=True)
    op.create_index(
        "ux_subscribers_unsubscribe_token", "subscribers", ["unsubscribe_token"], unique=True
    )
    op.create_index("ix_subscribers_state", "subscribers", ["state"])
    op.create_table(
        "deliveries",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column(
            "subscriber_id",
            sa.Integer,
            sa.ForeignKey("subscribers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("subject", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("last_error", sa.Text, nullable=False, server_default=""),
        sa.Column("sent_at", TS, nullable=True),
        sa.CheckConstraint(
            "kind IN ('confirmation', 'incident', 'maintenance')", name="ck_deliveries_kind"
        ),
        sa.CheckConstraint(
            "state IN ('pending', 'sent', 'failed', 'cancelled')", name="ck_deliveries_state"
        ),
    )
    op.create_index("ix_deliveries_due", "deliveries", ["state", "next_attempt_at"])
    op.create_index("ix_deliveries_subscriber", "deliveries", ["subscriber_id", "state"])
    op.create_table(
        "signups",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("address", sa.String(2048), nullable=False),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("at", TS, nullable=False),
    )
    op.create_index("ix_signups_at", "signups", ["at"])


def downgrade() -> None:
    for table in ("signups", "deliveries", "subscribers"):
        op.drop_table(table)
