"""SQLAlchemy 2 engine and sessions, a `SessionDep` for routes and a postgres health probe."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker


class Database:
    def __init__(self, url: URL | str, *, pool_size: int = 5, connect_timeout: int = 2) -> None:
        self.engine: Engine = create_engine(
            url,
            pool_size=pool_size,
            max_overflow=10,
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


def get_session(request: Request) -> Iterator[Session]:
    """One session per request; the route commits, anything not committed is rolled back."""
    database: Database = request.app.state.db
    with database.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
