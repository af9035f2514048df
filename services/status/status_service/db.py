"""Where the Alembic scripts are; the engine and sessions come from the chassis."""

from __future__ import annotations

from pathlib import Path

MIGRATIONS = Path(__file__).parent / "migrations"
