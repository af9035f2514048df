"""The delivery loop: the oldest undelivered spool lines to logstore, the offset saved after."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import orjson
from prometheus_client import Counter, Gauge

from .bulk import ACTION_START, BulkClient, Outcome, Retry, malformed
from .spool import Batch, Spool

log = logging.getLogger("log_forwarder")

EVENTS = Counter("log_forwarder_events", "Spool lines by what the store did with them", ["result"])
REQUESTS = Counter("log_forwarder_bulk_requests", "_bulk requests by outcome", ["outcome"])
BACKLOG = Gauge("log_forwarder_backlog_bytes", "Spool bytes not yet delivered")
LAST_DELIVERY = Gauge(
    "log_forwarder_last_delivery_timestamp_seconds", "When the store last took a batch"
)
# Every series from the start, so that Prometheus sees a first increase too (a counter that
# appears at 1 has no increase to see).
for _result in ("created", "duplicate", "rejected", "malformed"):
    EVENTS.labels(_result)
for _outcome in ("delivered", "retry"):
    REQUESTS.labels(_outcome)
IDLE_POLL_S = 0.05  # how often an idle forwarder looks for new lines: bounds the added latency
PRUNE_EVERY_S = 30.0


class Forwarder:
    def __init__(self, spool: Spool, client: BulkClient, error_file: Path, retry_s: float) -> None:
        self.spool, self.client = spool, client
        self.error_file, self.retry_s = error_file, retry_s
        self.stop = threading.Event()
        self.last_error: str | None = None  # for /health: the store's last refusal, if any

    def run(self) -> None:
        next_prune = 0.0
        while not self.stop.is_set():
            if time.monotonic() >= next_prune:
                self.spool.prune()
                next_prune = time.monotonic() + PRUNE_EVERY_S
            batch = self.spool.next_batch()
            BACKLOG.set(self.spool.backlog_bytes())
            if batch is None:
                self.stop.wait(IDLE_POLL_S)
                continue
            if not self.deliver(batch):
                self.stop.wait(self.retry_s)

    def deliver(self, batch: Batch) -> bool:
        lines, torn = split_torn(batch.lines) if malformed(batch.lines) else (batch.lines, [])
        try:
            outcome = self.client.send(lines) if lines else Outcome()
        except Retry as exc:
            REQUESTS.labels("retry").inc()
            if self.last_error != str(exc):
                log.warning("not delivered, retrying every %gs: %s", self.retry_s, exc)
            self.last_error = str(exc)
            return False
        if self.last_error is not None:
            log.info("delivering again")
        self.last_error = None
        REQUESTS.labels("delivered").inc()
        EVENTS.labels("created").inc(outcome.created)
        EVENTS.labels("duplicate").inc(outcome.duplicates)
        EVENTS.labels("rejected").inc(len(outcome.rejected))
        EVENTS.labels("malformed").inc(len(torn))
        for line in torn:
            self._error(line, {"error": "not an `action<TAB>document` spool line"})
        for line, result in outcome.rejected:
            self._error(line, result)
        self.spool.commit(batch)
        LAST_DELIVERY.set_to_current_time()
        return True

    def _error(self, line: bytes, result: dict[str, object]) -> None:
        """As omelasticsearch's errorFile: one JSON object per refused event."""
        record = {"line": line.decode(errors="replace").rstrip("\n"), "reply": result}
        with self.error_file.open("ab") as f:
            f.write(orjson.dumps(record) + b"\n")


def split_torn(lines: bytes) -> tuple[bytes, list[bytes]]:
    """The lines that are `action<TAB>document`, and the rest (torn: never sent).

    A kill -9 in the middle of rsyslog's write() can leave half an event with no newline, and
    the next rsyslog appends a whole one to it. That event was answered (RELP) and must not
    go with the torn half, so a bad line is cut where each action starts; the half is the
    only part set aside (its sender was never answered, and sends it again)."""
    kept: list[bytes] = []
    torn: list[bytes] = []
    for line in lines.splitlines(keepends=True):
        starts = _find_all(line, ACTION_START)
        if not starts:
            torn.append(line)
            continue
        if starts[0] > 0:
            torn.append(line[: starts[0]])
        pieces: list[bytes] = []
        for begin, end in zip(starts, [*starts[1:], len(line)], strict=True):
            piece = line[begin:end]
            if pieces and b"\t" not in piece:
                pieces[-1] += piece  # an action start inside a document: not a new event
            else:
                pieces.append(piece)
        for piece in pieces:
            whole = piece.endswith(b"\n") and piece.count(b"\t") == 1
            (kept if whole else torn).append(piece)
    return b"".join(kept), torn


def _find_all(text: bytes, needle: bytes) -> list[int]:
    found, at = [], text.find(needle)
    while at >= 0:
        found.append(at)
        at = text.find(needle, at + 1)
    return found
