"""The shipper-exporter's HTTP side: /health for anyone, /metrics for a bearer token.

Why a process that tails impstats' file rather than impstats -> omprog (tried on rsyslog
8.2302, docs/logging.md#shipper-metrics): omprog makes the exporter a child of rsyslogd, out of
supervisord's sight; after a kill -9 (the shipper's stop signal) the child learns of it only by
the end of its stdin, while the next rsyslogd's child wants the same port; every stats line
also goes through rsyslog's own message pipeline. A file read by a supervised process keeps
rsyslog's config to one impstats line and the exporter to a plain program with its own health
probe. The price is a file that grows (1.4 kB per interval, 12 MB a day at 10 s), which the
exporter keeps under `max_bytes` by truncating it: impstats writes with O_APPEND (checked in
/proc/<pid>/fdinfo), so its next line lands at offset 0. A half-batch written between our read
and the truncation is lost: counters are cumulative and the next batch comes an interval later.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import os
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import Metric
from prometheus_client.registry import Collector, CollectorRegistry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shipper_exporter.impstats import Snapshot, metrics, read_lines

MAX_BYTES = 1024 * 1024


class StatsFile(Collector):
    """impstats' file, read from where the last read stopped; the newest line of each object
    kept in memory."""

    def __init__(self, path: Path, *, max_bytes: int = MAX_BYTES) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.snapshot = Snapshot()
        self._offset = 0
        self._lock = threading.Lock()

    def poll(self) -> None:
        with self._lock:
            try:
                size = self.path.stat().st_size
            except FileNotFoundError:
                return  # rsyslog has not written yet: the timestamp stays 0
            if size < self._offset:
                self._offset = 0  # truncated or replaced
            skip_partial = size - self._offset > self.max_bytes
            if skip_partial:
                # A backlog (a first read of an old file): its tail only, from the first line
                # that starts in it (one byte earlier, to see whether a line starts right there).
                self._offset = size - self.max_bytes - 1
            with self.path.open("rb") as f:
                f.seek(self._offset)
                chunk = f.read(size - self._offset)
            if skip_partial:
                cut = chunk.find(b"\n") + 1
                chunk, self._offset = chunk[cut:], self._offset + cut
            lines, used = read_lines(chunk)
            for raw in lines:
                self.snapshot.add(raw)
            self._offset += used
            if self._offset >= self.max_bytes:
                os.truncate(self.path, 0)
                self._offset = 0

    def collect(self) -> Iterator[Metric]:
        self.poll()
        with self._lock:
            yield from metrics(self.snapshot)


def bearer_ok(header: str | None, accepted: list[str]) -> bool | None:
    """None without a bearer token, else whether it is one of `accepted` (constant time)."""
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    given = token.strip().encode()
    # Compared with every token, so the time taken does not tell which one was close.
    matches = [hmac.compare_digest(given, expected.encode()) for expected in accepted]
    return any(matches)


def metrics_endpoint(
    registry: CollectorRegistry, tokens: list[str]
) -> Callable[[Request], Awaitable[Response]]:
    """/metrics for a bearer token: 401 without one, 403 with a wrong one."""

    async def serve_metrics(request: Request) -> Response:
        # Metrics reveal the log volume of every service: never anonymous, like theirs.
        verdict = bearer_ok(request.headers.get("authorization"), tokens)
        if verdict is None:
            return JSONResponse(
                {"detail": "metrics token required"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        if not verdict:
            return JSONResponse({"detail": "wrong metrics token"}, status_code=403)
        body = await asyncio.to_thread(generate_latest, registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return serve_metrics


def create_app(stats: StatsFile, *, tokens: list[str], poll_seconds: float) -> Starlette:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(stats)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    serve_metrics = metrics_endpoint(registry, tokens)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async def keep_reading() -> None:
            # Read (and bound the file) even while nobody scrapes.
            while True:
                await asyncio.to_thread(stats.poll)
                await asyncio.sleep(poll_seconds)

        task = asyncio.create_task(keep_reading())
        yield
        task.cancel()

    routes = [Route("/health", health), Route("/metrics", serve_metrics)]
    return Starlette(routes=routes, lifespan=lifespan)
