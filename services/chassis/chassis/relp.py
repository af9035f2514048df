"""Acknowledged delivery of log lines to the shipper's RELP input (rsyslog imrelp).
Hand-written: the only RELP client on PyPI (pyrelp, a librelp wrapper last released in 2014)
is unmaintained; the retry waits are tenacity's.

Over plain TCP a line is gone once `sendall` returns, though it may still sit in a kernel buffer
when rsyslogd dies (docs/benchmarks.md, "Log pipeline"). RELP answers every frame; imrelp
answers once the line went through the ruleset into the disk queue. This sender keeps each
frame until its answer comes and sends the unanswered ones again on the next connection:
at-least-once. A resent line is the same bytes, so the shipper gives it the same `_id` (the
line's event.id, else hash64 of the line) and logstore refuses the copy (`create`).

The protocol, as librelp implements it (src/relpframe.c, src/copen.c,
https://www.rsyslog.com/doc/relp.html): a frame is `TXNR SP COMMAND SP DATALEN [SP DATA] LF`,
DATA only when DATALEN > 0; a session opens with txnr 1 (`open`, offers one per line:
relp_version=0, relp_software, commands=syslog), each later frame takes the next txnr (after
999999999 comes 1), the server answers `TXNR rsp DATALEN 200 OK` and may say `0 serverclose 0`.
"""

from __future__ import annotations

import logging
import queue
import select
import socket
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from tenacity import Retrying, retry_if_exception_type, stop_when_event_set

from chassis.logs import DROPPED, QUEUE_SIZE, RECONNECT_WAIT

MAX_TXNR = 999_999_999
# librelp's own default window: frames sent and not yet answered.
WINDOW = 128
# imrelp refuses a larger frame and drops the session (maxDataSize defaults to rsyslog's
# maxMessageSize, 64k in stack/config/rsyslog/rsyslog.conf): resending it would loop forever.
MAX_LINE = 64 * 1024
OFFERS = b"relp_version=0\nrelp_software=chassis\ncommands=syslog"
DROPPED.labels(reason="too_large")


class RelpError(ConnectionError):
    """The shipper refused or garbled the session: reconnect and resend."""


@dataclass(frozen=True)
class Frame:
    txnr: int
    command: str
    data: bytes


def encode(txnr: int, command: str, data: bytes) -> bytes:
    if not data:
        return f"{txnr} {command} 0\n".encode()
    return f"{txnr} {command} {len(data)} ".encode() + data + b"\n"


def decode(buffer: bytearray) -> list[Frame]:
    """The complete frames at the start of `buffer`, removed from it (a partial one stays)."""
    frames: list[Frame] = []
    while True:
        head_end = buffer.find(b" ", buffer.find(b" ") + 1)
        if head_end < 0:
            return frames
        txnr, command = bytes(buffer[:head_end]).split(b" ")
        length_end = next((i for i in range(head_end + 1, len(buffer)) if buffer[i] in b" \n"), -1)
        if length_end < 0:
            return frames
        if not txnr.isdigit() or not buffer[head_end + 1 : length_end].isdigit():
            raise RelpError(f"not a RELP frame: {bytes(buffer[:80])!r}")
        length = int(buffer[head_end + 1 : length_end])
        start = length_end + 1 if length else length_end
        end = start + length
        if len(buffer) <= end:
            return frames
        if buffer[end : end + 1] != b"\n":
            raise RelpError(f"RELP frame {int(txnr)} does not end in LF: {bytes(buffer[:80])!r}")
        frames.append(Frame(int(txnr), command.decode(), bytes(buffer[start:end])))
        del buffer[: end + 1]


class RelpShipperHandler(logging.Handler):
    """Sends formatted lines as RELP `syslog` frames to host:port from a background thread;
    `emit` only puts the line in a bounded queue (full: dropped and counted)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        capacity: int = QUEUE_SIZE,
        window: int = WINDOW,
        ack_timeout: float = 10.0,
    ) -> None:
        super().__init__()
        self.address = (host, port)
        self.window = window
        self.ack_timeout = ack_timeout
        self.queue: queue.Queue[bytes] = queue.Queue(maxsize=capacity)
        # txnr -> line, in the order sent; only the sender thread changes it.
        self._unacked: OrderedDict[int, bytes] = OrderedDict()
        self._txnr = 0  # the last one sent in this session
        self._buffer = bytearray()  # what the shipper sent that is not a whole frame yet
        self._last_ack = 0.0  # when the window last moved (monotonic)
        self._sock: socket.socket | None = None  # the open session, only the sender's
        self.resent = 0  # lines sent again on a new connection (the benchmark reports it)
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name="log-shipper-relp", daemon=True)
        self._thread.start()

    @property
    def pending(self) -> int:
        """Lines not yet acknowledged: queued or sent and unanswered."""
        return self.queue.qsize() + len(self._unacked)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record).encode()
            if len(line) > MAX_LINE:
                DROPPED.labels(reason="too_large").inc()
                return
            self.queue.put_nowait(line)
        except queue.Full:
            DROPPED.labels(reason="queue_full").inc()
        except Exception:
            self.handleError(record)

    def close(self) -> None:
        self._closing.set()
        super().close()

    # ---- the sender thread ---------------------------------------------------------------

    def _run(self) -> None:
        # An outage is one retry call: it ends once a session is open, so the next outage's
        # waits start again at RECONNECT_FIRST. close() ends a wait at once (the sleep is a
        # wait on the closing event) and no attempt follows it. No before_sleep log line: it
        # would come back through this very handler.
        reconnect = Retrying(
            retry=retry_if_exception_type(OSError),  # refused, reset, timed out, RelpError
            wait=RECONNECT_WAIT,
            stop=stop_when_event_set(self._closing),
            sleep=self._pause,
            retry_error_callback=lambda _state: None,  # stopped by close(): no RetryError
        )
        while not self._closing.is_set():
            reconnect(self._step)
        if self._sock is not None:  # opened just as the handler closed
            self._sock.close()

    def _pause(self, seconds: float) -> None:
        self._closing.wait(seconds)

    def _step(self) -> None:
        """Open a session if none is open (that ends the outage), else send over the open one
        until it fails or the handler closes."""
        if self._closing.is_set():
            return
        if self._sock is None:
            sock = socket.create_connection(self.address, timeout=5)
            try:
                self._open(sock)
            except Exception:
                sock.close()
                raise
            self._sock = sock
            return
        try:
            self._pump(self._sock)
        finally:
            self._sock.close()
            self._sock = None

    def _open(self, sock: socket.socket) -> None:
        sock.sendall(encode(1, "open", OFFERS))
        buffer = bytearray()
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                raise RelpError("the shipper closed the session before answering open")
            buffer += chunk
            for frame in decode(buffer):
                if frame.txnr == 1 and frame.command == "rsp":
                    if not frame.data.startswith(b"200"):
                        raise RelpError(f"the shipper refused the session: {frame.data!r}")
                    self._txnr = 1
                    self._buffer = buffer
                    # The lines the last session left unanswered go first, in their order.
                    lines = list(self._unacked.values())
                    self._unacked.clear()
                    self.resent += len(lines)
                    self._send(sock, lines)
                    return

    def _send(self, sock: socket.socket, lines: list[bytes]) -> None:
        frames = []
        for line in lines:
            self._txnr = self._txnr + 1 if self._txnr < MAX_TXNR else 1
            self._unacked[self._txnr] = line
            frames.append(encode(self._txnr, "syslog", line))
        if frames:
            sock.sendall(b"".join(frames))
            if len(self._unacked) == len(frames):
                self._last_ack = time.monotonic()  # the answer clock starts now

    def _take(self, room: int) -> list[bytes]:
        # Idle: wait on the queue (waking to notice close). Lines in flight: a short wait, so
        # that their answers are read promptly.
        try:
            lines = [self.queue.get(timeout=0.01 if self._unacked else 0.5)]
        except queue.Empty:
            return []
        while len(lines) < room:
            try:
                lines.append(self.queue.get_nowait())
            except queue.Empty:
                break
        return lines

    def _pump(self, sock: socket.socket) -> None:
        while not self._closing.is_set():
            room = self.window - len(self._unacked)
            if room > 0:
                self._send(sock, self._take(room))
            if not self._unacked:
                continue
            readable, _, _ = select.select([sock], [], [], 0 if room > 0 else 0.5)
            if readable:
                chunk = sock.recv(65536)
                if not chunk:
                    raise RelpError("the shipper closed the connection")
                self._buffer += chunk
                for frame in decode(self._buffer):
                    self._answer(frame)
            if self._unacked and time.monotonic() - self._last_ack > self.ack_timeout:
                raise RelpError(f"no answer from the shipper in {self.ack_timeout:g} s")

    def _answer(self, frame: Frame) -> None:
        if frame.command == "serverclose":
            raise RelpError("the shipper is closing the session")
        if frame.command != "rsp" or frame.txnr not in self._unacked:
            return
        if not frame.data.startswith(b"200"):
            raise RelpError(f"the shipper refused frame {frame.txnr}: {frame.data!r}")
        del self._unacked[frame.txnr]
        self._last_ack = time.monotonic()
