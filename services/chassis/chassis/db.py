"""SQLAlchemy 2 engine and sessions, a `SessionDep` for routes and a postgres health probe.

A sync route with `SessionDep` costs three trips to the worker threads (the session's start,
the route, the session's end), and each trip costs more CPU than a primary-key read; a hot read
path uses `DatabaseDep` and `Database.run` instead: one trip, the session opened and closed in
that thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Annotated, Concatenate, ParamSpec, TypeVar

from fastapi import Depends, Request
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

P = ParamSpec("P")
T = TypeVar("T")
# Connections kept open: as many as requests a service serves at once behind the gateway
# (16 in bench/gateway.py). With 5, every request beyond the fifth opened a connection and
# closed it again (a PostgreSQL backend forked and a SCRAM login for one read).
POOL_SIZE = 16
# Beyond that, short-lived ones; with 6 service processes at most 6 x 20 = 120 of
# PostgreSQL's 200 connections.
MAX_OVERFLOW = 4


class Database:
    def __init__(
        self, url: URL | str, *, pool_size: int = POOL_SIZE, connect_timeout: int = 2
    ) -> None:
        self.engine: Engine = create_engine(
            url,
            pool_size=pool_size,
            max_overflow=MAX_OVERFLOW,
            pool_pre_ping=True,
            pool_timeout=5,
            connect_args={"connect_timeout": connect_timeout},
        )
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    async def probe(self) -> None:
        """For a `HealthCheck`: SELECT 1 off the event loop."""
        await asyncio.to_thread(self.ping)

    def dispose(self) -> None:
        self.engine.dispose()

    async def run(
        self, work: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """`work(session, ...)` in a worker thread (FastAPI's pool), with a session that
        closes in that same thread: one trip off the event loop for the whole unit of work.
        What the work does not commit is rolled back, as with `SessionDep`."""

        def in_session() -> T:
            with self.sessions() as session:
                return work(session, *args, **kwargs)

        return await run_in_threadpool(in_session)


def get_session(request: Request) -> Iterator[Session]:
    """One session per request; the route commits, anything not committed is rolled back."""
    database: Database = request.app.state.db
    with database.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


async def get_database(request: Request) -> Database:
    """The app's database, for `Database.run` (async: no worker thread just to look it up)."""
    database: Database = request.app.state.db
    return database


DatabaseDep = Annotated[Database, Depends(get_database)]
