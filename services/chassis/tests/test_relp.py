"""The RELP sender (chassis/relp.py) against a small fake RELP server: answers, a server that
drops the connection with frames unanswered (they are sent again, the answered ones are not),
a shipper that is not there (emit never blocks; the overflow is counted)."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from chassis.logs import TcpShipperHandler, configure_logging
from chassis.relp import Frame, RelpError, RelpShipperHandler, decode, encode
from prometheus_client import REGISTRY

from grader.polling import poll_until

PORT = 28110  # this helper's range (28000-28999)


def test_frames_round_trip_and_a_partial_frame_waits() -> None:
    wire = encode(1, "open", b"relp_version=0\ncommands=syslog") + encode(2, "syslog", b'{"a": 1}')
    wire += encode(0, "serverclose", b"")
    buffer = bytearray(wire + b"3 rsp 6 200 O")
    assert decode(buffer) == [
        Frame(1, "open", b"relp_version=0\ncommands=syslog"),
        Frame(2, "syslog", b'{"a": 1}'),
        Frame(0, "serverclose", b""),
    ]
    assert buffer == b"3 rsp 6 200 O", "a partial frame stays in the buffer"
    buffer += b"K\n"
    assert decode(buffer) == [Frame(3, "rsp", b"200 OK")] and buffer == b""
    with pytest.raises(RelpError, match="does not end in LF"):
        decode(bytearray(b"4 rsp 2 okX"))


class FakeRelpServer:
    """Answers `open` and every `syslog` frame with 200 OK, except that on the first connection
    it answers only `answer_first` frames, reads up to `drop_after`, then closes."""

    def __init__(self, *, answer_first: int | None = None, drop_after: int = 0) -> None:
        self.answer_first, self.drop_after = answer_first, drop_after
        self.sessions: list[list[bytes]] = []  # per connection: the syslog data received
        self.listener = socket.create_server(("127.0.0.1", PORT))
        self.done = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.done.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn:
                self._session(conn, first=len(self.sessions) == 0)

    def _session(self, conn: socket.socket, *, first: bool) -> None:
        received: list[bytes] = []
        self.sessions.append(received)
        buffer = bytearray()
        while chunk := conn.recv(65536):
            buffer += chunk
            for frame in decode(buffer):
                if frame.command == "open":
                    conn.sendall(encode(frame.txnr, "rsp", b"200 OK\nrelp_version=0"))
                    continue
                received.append(frame.data)
                limited = first and self.answer_first is not None
                if not limited or len(received) <= (self.answer_first or 0):
                    conn.sendall(encode(frame.txnr, "rsp", b"200 OK"))
                elif len(received) >= self.drop_after:
                    return  # the unanswered frames die with the connection

    def close(self) -> None:
        self.done.set()
        self.listener.close()


Logger = tuple[logging.Logger, list[RelpShipperHandler]]


@pytest.fixture
def logger() -> Iterator[Logger]:
    handlers: list[RelpShipperHandler] = []
    log = logging.Logger("relp-test")
    yield log, handlers
    for handler in handlers:
        handler.close()


def _handler(
    log: logging.Logger, handlers: list[RelpShipperHandler], **kw: int
) -> RelpShipperHandler:
    handler = RelpShipperHandler("127.0.0.1", PORT, **kw)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    handlers.append(handler)
    return handler


def _wait(predicate: Callable[[], bool], what: str, timeout: float = 10) -> None:
    poll_until(predicate, what, timeout, interval=0.02)


def test_every_line_is_answered_once_in_order(logger: Logger) -> None:
    log, handlers = logger
    server = FakeRelpServer()
    try:
        handler = _handler(log, handlers)
        lines = [f"line {i}" for i in range(300)]  # more than a window
        for line in lines:
            log.info(line)
        _wait(lambda: handler.pending == 0, "every line answered")
        assert [d.decode() for d in server.sessions[0]] == lines
        assert len(server.sessions) == 1
    finally:
        server.close()


def test_frames_unanswered_when_the_connection_drops_are_sent_again(logger: Logger) -> None:
    log, handlers = logger
    server = FakeRelpServer(answer_first=10, drop_after=30)
    try:
        handler = _handler(log, handlers, window=50)
        lines = [f"line {i}" for i in range(40)]
        for line in lines:
            log.info(line)
        _wait(lambda: handler.pending == 0, "every line answered after the reconnect")
        first, *rest = [[d.decode() for d in s] for s in server.sessions]
        again = [line for session in rest for line in session]
        assert first[:10] == lines[:10], "the first connection got the first lines"
        assert not set(lines[:10]) & set(again), "an answered line was sent again"
        assert again == lines[10:], f"expected the unanswered lines 10..39 again, saw {again}"
        assert handler.resent == 30
    finally:
        server.close()


def test_after_a_session_was_open_the_reconnect_waits_start_again_at_0_2_s(
    logger: Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    log, handlers = logger
    attempts: list[float] = []
    real = socket.create_connection

    def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        if tuple(address) == ("127.0.0.1", PORT):
            attempts.append(time.monotonic())
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", create_connection)
    waits: list[float] = []  # what the sender asked to wait, not how long it took
    real_pause = RelpShipperHandler._pause

    def pause(self: RelpShipperHandler, seconds: float) -> None:
        waits.append(seconds)
        real_pause(self, seconds)

    monkeypatch.setattr(RelpShipperHandler, "_pause", pause)
    handler = _handler(log, handlers)
    log.info("line 0")
    _wait(lambda: len(attempts) >= 5, "five refused connects (waits up to 1 s by then)")
    # The next attempt opens a session, which drops the unanswered line: its outage is new.
    server = FakeRelpServer(answer_first=0, drop_after=1)
    try:
        _wait(lambda: handler.pending == 0, "the line answered on the second session")
        assert len(server.sessions) == 2 and len(attempts) == 7
        assert waits[:4] == pytest.approx([0.2, 0.4, 0.8, 1.0]), waits
        assert waits[-1] == pytest.approx(0.2), f"waited {waits[-1]} s after the drop, not 0.2"
    finally:
        server.close()


def test_emit_never_blocks_and_counts_what_it_drops(logger: Logger) -> None:
    log, handlers = logger
    # No shipper listening: the sender cannot connect, so nothing leaves the queue.
    handler = _handler(log, handlers, capacity=5)
    before = REGISTRY.get_sample_value("log_events_dropped_total", {"reason": "queue_full"}) or 0
    emitting = threading.Thread(target=lambda: [log.info(f"line {i}") for i in range(20)])
    emitting.start()
    emitting.join(timeout=10)
    assert not emitting.is_alive(), "emit blocked with the shipper down"
    after = REGISTRY.get_sample_value("log_events_dropped_total", {"reason": "queue_full"})
    assert (after - before, handler.queue.qsize()) == (15, 5)


def test_the_service_prefers_relp_when_the_runtime_gives_both() -> None:
    def shippers() -> list[type[logging.Handler]]:
        chassis = [h for h in logging.getLogger().handlers if getattr(h, "chassis", False)]
        return [type(h) for h in chassis if not isinstance(h, logging.StreamHandler)]

    both = {"tcp_address": "127.0.0.1:28111", "relp_address": "127.0.0.1:28112"}
    try:
        configure_logging(service="t", version="0", **both)
        assert shippers() == [RelpShipperHandler]
        configure_logging(service="t", version="0", tcp_address="127.0.0.1:28111")
        assert shippers() == [TcpShipperHandler], "compose: Logstash's TCP input only"
    finally:
        configure_logging(service="t", version="0")
