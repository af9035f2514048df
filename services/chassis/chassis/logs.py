"""ECS JSON log lines to stdout and, when LOG_TCP_ADDRESS is set, to the shipper's TCP input
(or, when LOG_RELP_ADDRESS is set, to its RELP input, acknowledged: chassis/relp.py).

The fields come from Elastic's `ecs-logging` (`ecs_logging.StdlibFormatter`); `EcsFormatter`
writes them as flat dotted keys (`"service.name": ...`, where ecs-logging nests objects), the
shape every consumer was written for: the shipper's rules test `$!event.id` and `$!log.level`
(stack/config/rsyslog/rsyslog.conf), tests/elk and bench/ read `_source["service.name"]`.
Formatting costs more than the hand-written formatter it replaced (~85 us a line against
~15 us on the shared 2-core box), small beside a request.

The TCP side never blocks a request: lines go into a bounded queue that a daemon thread sends,
reconnecting with backoff. When the queue is full the line is dropped and counted in
`log_events_dropped_total`, because losing a log line beats stalling a request.
"""

from __future__ import annotations

import json
import logging
import queue
import socket
import sys
import threading
import traceback
from collections.abc import Iterator
from typing import Any

import ecs_logging
from prometheus_client import Counter
from tenacity import Retrying, retry_if_exception_type, wait_exponential

from chassis.context import request_id

# The ECS release the stack's index mappings follow (ecs-logging itself claims 1.6.0, older
# than fields the services write, such as http.request.id).
ECS_VERSION = "8.11.0"
QUEUE_SIZE = 10_000
# Reconnect waits grow from 0.2 s to 1 s, not more: a dead shipper then costs one refused
# connect a second, and a shipper that is back is used within a second, before a busy service
# fills its queue (at 5 s, a 3 s outage at 2,000 lines/s overflowed it).
RECONNECT_FIRST, RECONNECT_MAX = 0.2, 1.0
RECONNECT_WAIT = wait_exponential(multiplier=RECONNECT_FIRST, max=RECONNECT_MAX)
DROPPED = Counter(
    "log_events_dropped", "Log lines dropped because the log shipper could not keep up", ["reason"]
)
# Exported at 0 from the start: increase() sees a first burst only on a series that exists.
DROPPED.labels(reason="queue_full")
# First in every line, as the ECS logging spec orders them; the rest follow sorted.
_LEADING = ("@timestamp", "log.level", "message")


class EcsFormatter(ecs_logging.StdlibFormatter):
    """ecs-logging's fields plus the service, the request id and the whole traceback, as one
    JSON object with dotted keys. A record's `extra={"user.id": ...}` adds ECS fields."""

    def __init__(self, service: str, version: str) -> None:
        super().__init__(
            extra={"service.name": service, "service.version": version},
            # Left out: what repeats or says nothing. log.original is `message` again,
            # color_message uvicorn's ANSI copy of it; a service is one process whose one
            # event-loop thread serves every request (process.name, process.thread.*).
            exclude_fields=["log.original", "color_message", "process.name", "process.thread"],
        )

    def format_to_ecs(self, record: logging.LogRecord) -> dict[str, Any]:
        doc = dict(_dotted(super().format_to_ecs(record)))
        doc["ecs.version"] = ECS_VERSION
        rid = request_id.get()
        if rid:
            doc.setdefault("http.request.id", rid)  # a record's own extra wins, as before
        if record.exc_info and record.exc_info[0] is not None:
            # ecs-logging keeps only the frames; the type, message and chained causes
            # ("The above exception was the direct cause of...") are what one reads first.
            doc["error.stack_trace"] = "".join(traceback.format_exception(*record.exc_info))
        leading = {key: doc.pop(key) for key in _LEADING if key in doc}
        return leading | dict(sorted(doc.items()))

    def format(self, record: logging.LogRecord) -> str:
        # stdout and the shipper's handler format the same record: the line is built once
        # (about 0.1 ms each; `_`-attributes are never fields, see _dotted).
        line: str | None = getattr(record, "_ecs_line", None)
        if line is None:
            line = json.dumps(self.format_to_ecs(record), separators=(",", ":"), default=str)
            record._ecs_line = line
        return line


def _dotted(tree: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """ecs-logging's nested objects as dotted keys; attributes starting with `_` are private."""
    for key, value in tree.items():
        if key.startswith("_"):
            continue
        if type(value) is dict:  # ecs-logging's own objects (faster than isinstance)
            yield from _dotted(value, f"{prefix}{key}.")
        else:
            yield prefix + key, value


class TcpShipperHandler(logging.Handler):
    """Sends formatted lines, newline-delimited, to host:port from a background thread."""

    def __init__(self, host: str, port: int, *, capacity: int = QUEUE_SIZE) -> None:
        super().__init__()
        self.address = (host, port)
        self.queue: queue.Queue[bytes] = queue.Queue(maxsize=capacity)
        self._sock: socket.socket | None = None
        self._thread = threading.Thread(target=self._run, name="log-shipper", daemon=True)
        self._thread.start()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = (self.format(record) + "\n").encode()
            self.queue.put_nowait(line)
        except queue.Full:
            DROPPED.labels(reason="queue_full").inc()
        except Exception:
            self.handleError(record)

    def _run(self) -> None:
        # One retry call per line: the waits start again at RECONNECT_FIRST once a line went
        # out. No before_sleep log line: it would come back through this very handler.
        send = Retrying(retry=retry_if_exception_type(OSError), wait=RECONNECT_WAIT)
        while True:
            send(self._send, self.queue.get())

    def _send(self, line: bytes) -> None:
        try:
            if self._sock is None:
                self._sock = socket.create_connection(self.address, timeout=2)
            self._sock.sendall(line)
        except OSError:
            self._close()
            raise

    def _close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None

    def close(self) -> None:
        self._close()
        super().close()


def configure_logging(
    *,
    service: str,
    version: str,
    level: str = "INFO",
    tcp_address: str | None = None,
    relp_address: str | None = None,
) -> None:
    """Replace the root handlers (and uvicorn's) with ECS JSON to stdout and the shipper:
    over RELP when given its address (acknowledged), else over plain TCP."""
    formatter = EcsFormatter(service, version)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stdout)]
    if relp_address:
        from chassis.relp import RelpShipperHandler  # it imports this module

        host, _, port = relp_address.rpartition(":")
        handlers.append(RelpShipperHandler(host, int(port)))
    elif tcp_address:
        host, _, port = tcp_address.rpartition(":")
        handlers.append(TcpShipperHandler(host, int(port)))
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "chassis", False):
            root.removeHandler(old)
            old.close()
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.chassis = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    # The chassis writes its own access line with the route template and request id.
    logging.getLogger("uvicorn.access").disabled = True
