"""Run a service's Alembic migrations at startup: idempotent, and serialised by a PostgreSQL
advisory lock so that replicas starting together do not race."""

from __future__ import annotations

import logging
import time
import zlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

log = logging.getLogger("chassis.migrations")


def upgrade(engine: Engine, script_location: Path, *, wait_s: float = 30.0) -> None:
    """`alembic upgrade head` on `engine`, retrying while the database is not reachable yet.

    The service's `env.py` must use `config.attributes["connection"]` (see the README)."""
    deadline = time.monotonic() + wait_s
    lock_id = zlib.crc32(str(engine.url.database).encode())
    while True:
        try:
            with engine.begin() as conn:
                conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})
                config = Config()
                config.set_main_option("script_location", str(script_location))
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
            return
        except OperationalError as exc:
            if time.monotonic() > deadline:
                raise
            log.warning("database not reachable yet, retrying migrations: %s", exc.orig)
            time.sleep(1)
