"""checks, aggregates, incidents, maintenance windows, webhook notifications.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "checks",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("component", sa.String(64), nullable=False),
        sa.Column("unit", sa.String(64), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("latency_ms", sa.Float, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
    )
    op.create_index("ix_checks_component_at", "checks", ["component", "at"])
    op.create_index("ix_checks_at", "checks", ["at"])
    for table, key, key_type in (("minute_stats", "minute", TS), ("daily_stats", "day", sa.Date)):
        op.create_table(
            table,
            sa.Column("component", sa.String(64), primary_key=True),
            sa.Column(key, key_type, primary_key=True),
            sa.Column("samples", sa.Integer, nullable=False),
            sa.Column("up_samples", sa.Integer, nullable=False),
            sa.Column("p50_ms", sa.Float, nullable=True),
            sa.Column("p95_ms", sa.Float, nullable=True),
        )
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("impact", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("component", sa.String(64), nullable=True),
        sa.Column("fingerprint", sa.String(64), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("monitoring_at", TS, nullable=True),
        sa.Column("resolved_at", TS, nullable=True),
        sa.CheckConstraint(
            "status IN ('investigating', 'identified', 'monitoring', 'resolved')",
            name="ck_incidents_status",
        ),
        sa.CheckConstraint(
            "impact IN ('none', 'minor', 'major', 'critical')", name="ck_incidents_impact"
        ),
    )
    op.create_index("ix_incidents_open", "incidents", ["resolved_at"])
    op.create_index("ix_incidents_fingerprint", "incidents", ["fingerprint"])
    op.create_table(
        "incident_updates",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "incident_id",
            sa.Integer,
            sa.ForeignKey("incidents.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "maintenances",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("components", sa.JSON, nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("ends_at", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("receiver", sa.String(200), nullable=False),
        sa.Column("group_key", sa.Text, nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "notifications",
        "maintenances",
        "incident_updates",
        "incidents",
        "daily_stats",
        "minute_stats",
        "checks",
    ):
        op.drop_table(table)
