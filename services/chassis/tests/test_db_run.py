"""`Database.run`: one trip to a worker thread with a session of its own, and the pool size."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from chassis.db import MAX_OVERFLOW, POOL_SIZE, Database
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker


@pytest.fixture
def database(tmp_path: Path) -> Database:
    """A Database on a SQLite file: `run` needs only the engine and the session factory, and
    Database() itself passes PostgreSQL's connect arguments, which SQLite refuses."""
    db = Database.__new__(Database)
    db.engine = create_engine(f"sqlite:///{tmp_path / 'unit.db'}")
    db.sessions = sessionmaker(db.engine, expire_on_commit=False)
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE item (name TEXT)"))
    return db


def _count(session: Session) -> int:
    return int(session.execute(text("SELECT count(*) FROM item")).scalar_one())


def test_run_works_off_the_event_loop_and_closes_its_session(database: Database) -> None:
    seen: dict[str, object] = {}

    def work(session: Session, name: str, *, twice: bool) -> int:
        seen["thread"] = threading.get_ident()
        session.execute(text("INSERT INTO item VALUES (:n)"), {"n": name})
        if twice:
            session.execute(text("INSERT INTO item VALUES (:n)"), {"n": name})
        seen["session"] = session
        return _count(session)

    async def main() -> int:
        seen["loop"] = threading.get_ident()
        return await database.run(work, "a", twice=True)

    assert asyncio.run(main()) == 2, "the work's own session sees its writes"
    assert seen["thread"] != seen["loop"], "a blocking read must not run on the event loop"
    assert database.engine.pool.checkedout() == 0, "the connection went back to the pool"
    assert asyncio.run(database.run(_count)) == 0, "what was not committed is rolled back"


def test_run_commits_what_the_work_commits_and_raises_what_it_raises(database: Database) -> None:
    def add(session: Session) -> None:
        session.execute(text("INSERT INTO item VALUES ('kept')"))
        session.commit()

    def fail(session: Session) -> None:
        session.execute(text("INSERT INTO item VALUES ('lost')"))
        raise LookupError("no such thing")

    asyncio.run(database.run(add))
    with pytest.raises(LookupError, match="no such thing"):
        asyncio.run(database.run(fail))
    assert asyncio.run(database.run(_count)) == 1
    assert database.engine.pool.checkedout() == 0


def test_the_pool_holds_a_connection_per_concurrent_request() -> None:
    """16 requests at once behind the gateway: with fewer pooled connections each request
    beyond them connected and disconnected (no connection is made here: the pool is lazy)."""
    pool = Database("postgresql+psycopg://unit@127.0.0.1:1/unit").engine.pool
    assert pool.size() == POOL_SIZE >= 16  # type: ignore[attr-defined]
    assert pool._max_overflow == MAX_OVERFLOW  # type: ignore[attr-defined]
