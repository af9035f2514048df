"""The chassis's retry loops (tenacity): the waits between attempts, what ends them, and what a
caller gets when they give up. Nothing listens where they connect: every attempt fails at once,
so the gaps between attempts are the waits. Only lower bounds on time are asserted: a wait can
run late on a loaded machine, never early."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from chassis import migrations
from chassis.logs import TcpShipperHandler
from chassis.messaging import Broker
from chassis.relp import RelpShipperHandler
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

from grader.polling import poll_until

DEAD = ("127.0.0.1", 28119)  # this helper's range (28000-28999); the fake below refuses it


def _refused_connects(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Patch socket.create_connection to refuse DEAD at once; returns the attempt times."""
    attempts: list[float] = []
    real = socket.create_connection

    def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        if tuple(address) == DEAD:
            attempts.append(time.monotonic())
            raise ConnectionRefusedError(f"{address} refused (test)")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", create_connection)
    return attempts


def _wait(predicate: Callable[[], bool], what: str, timeout: float = 10) -> None:
    poll_until(predicate, what, timeout, interval=0.02)


def _assert_gaps(attempts: list[float], expected: list[float]) -> None:
    gaps = [later - earlier for earlier, later in pairwise(attempts)]
    for gap, wait in zip(gaps, expected, strict=False):
        assert gap >= wait - 0.01, f"waits {gaps}, expected at least {expected}"
    # A doubling wait shows as growing gaps even when each one runs late: 0.2 s before 1 s.
    assert gaps[0] < gaps[-1], f"waits {gaps} do not grow"


def test_relp_reconnects_after_0_2_s_doubling_to_1_s_and_close_ends_a_wait_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    attempts = _refused_connects(monkeypatch)
    handler = RelpShipperHandler(*DEAD)
    try:
        _wait(lambda: len(attempts) >= 6, "six connect attempts")  # 0.2+0.4+0.8+1+1 s apart
        _assert_gaps(attempts, [0.2, 0.4, 0.8, 1.0, 1.0])
    finally:
        handler.close()  # in the middle of a 1 s wait
    count = len(attempts)
    # The thread ends before the 1 s wait it was in could have run out, and a dead thread
    # makes no more attempts.
    handler._thread.join(timeout=0.9)
    assert not handler._thread.is_alive(), "close() did not end the reconnect wait"
    assert len(attempts) == count, "an attempt after close()"


def test_tcp_sender_retries_a_line_after_0_2_s_doubling_to_1_s(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    attempts = _refused_connects(monkeypatch)
    handler = TcpShipperHandler(*DEAD)
    handler.emit(logging.makeLogRecord({"msg": "waits for the shipper"}))
    _wait(lambda: len(attempts) >= 5, "five connect attempts")
    _assert_gaps(attempts, [0.2, 0.4, 0.8, 1.0])
    handler.close()


def test_broker_connect_retries_double_from_retry_s_and_stop_on_close(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    attempts: list[float] = []

    async def refuse(*args: Any, **kwargs: Any) -> None:
        attempts.append(time.monotonic())
        raise ConnectionRefusedError("refused (test)")

    monkeypatch.setattr("chassis.messaging.aio_pika.connect_robust", refuse)

    async def scenario() -> None:
        broker = Broker("amqp://stack@127.0.0.1:1/", "pw", retry_s=0.1)
        await broker.start()
        async with asyncio.timeout(10):
            while len(attempts) < 4:
                await asyncio.sleep(0.01)
        await broker.close()  # in the middle of the 0.8 s wait
        assert broker._task is not None and broker._task.done(), "the retry task outlived close()"
        assert not broker.connected

    with caplog.at_level(logging.WARNING, logger="chassis.messaging"):
        asyncio.run(scenario())
    assert len(attempts) == 4, f"attempts at {attempts}"
    _assert_gaps(attempts, [0.1, 0.2, 0.4])
    warnings = [r.getMessage() for r in caplog.records if r.name == "chassis.messaging"]
    assert len(warnings) == 4 and all("RabbitMQ not reachable" in w for w in warnings)


def test_migrations_retry_every_second_then_raise_the_database_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    started = time.monotonic()
    with (
        caplog.at_level(logging.WARNING, logger="chassis.migrations"),
        pytest.raises(OperationalError),
    ):
        migrations.upgrade(engine, tmp_path, wait_s=1.5)
    took = time.monotonic() - started
    warnings = [r.getMessage() for r in caplog.records if r.name == "chassis.migrations"]
    # Attempts at 0, 1 and 2 s: the third fails past the 1.5 s limit and is raised.
    assert len(warnings) == 2 and took >= 2.0, (warnings, took)
    assert all("database not reachable yet" in w for w in warnings)
