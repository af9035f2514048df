"""Run a service's Alembic migrations at startup: idempotent, and serialised by a PostgreSQL
advisory lock so that replicas starting together do not race."""

from __future__ import annotations

import logging
import zlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_delay,
    wait_fixed,
)

log = logging.getLogger("chassis.migrations")


def upgrade(engine: Engine, script_location: Path, *, wait_s: float = 30.0) -> None:
    """`alembic upgrade head` on `engine`, retrying while the database is not reachable yet.

    The service's `env.py` must use `config.attributes["connection"]` (see the README)."""
    lock_id = zlib.crc32(str(engine.url.database).encode())

    def attempt() -> None:
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})
            config = Config()
            config.set_main_option("script_location", str(script_location))
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    retrying = Retrying(
        retry=retry_if_exception_type(OperationalError),
        wait=wait_fixed(1),
        stop=stop_after_delay(wait_s),
        before_sleep=_log_retry,
        reraise=True,  # the database's own error, not tenacity's RetryError
    )
    retrying(attempt)


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.warning(
        "database not reachable yet, retrying migrations: %s", getattr(error, "orig", error)
    )
