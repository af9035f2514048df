"""Alembic environment: run by the service at startup (chassis.migrations.upgrade), which
passes an open connection in `config.attributes["connection"]`."""

from __future__ import annotations

from alembic import context
from status_service.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata)
with context.begin_transaction():
    context.run_migrations()
