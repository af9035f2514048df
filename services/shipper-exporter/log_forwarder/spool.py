"""The shipper's spool: hourly files of one event per line, read from saved offsets.

rsyslog (stack/config/rsyslog/rsyslog.conf) appends each event as
`<bulk action line>\\t<document>\\n`
to `ship-YYYYMMDDHH.ndjson`. JSON escapes every tab and newline inside the two, so a line is an
event and the first tab splits it. A batch is a run of whole lines from one file; its offset is
saved (a temporary file and a rename) only once the store took it, so after a crash reading
starts again at the first byte not yet delivered.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

PATTERN = "ship-*.ndjson"
STATE_FILE = "offsets.json"
# A file the shipper no longer writes to (a newer one exists) and that is fully delivered is
# deleted once it has not changed for this long: rsyslog names the file by the hour it
# processes a line in, so nothing is appended to an older hour's file after the hour turned.
QUIET_BEFORE_DELETE_S = 120.0


@dataclass(frozen=True)
class Batch:
    """Whole lines of one spool file, bytes [start, end)."""

    name: str
    start: int
    end: int
    lines: bytes

    @property
    def events(self) -> int:
        return self.lines.count(b"\n")


class Spool:
    def __init__(self, directory: Path, *, max_bytes: int = 4 << 20) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.state_path = directory / STATE_FILE
        self.offsets: dict[str, int] = self._load()

    def _load(self) -> dict[str, int]:
        try:
            raw = orjson.loads(self.state_path.read_bytes())
        except FileNotFoundError:
            return {}
        return {str(k): int(v) for k, v in raw.items()}

    def files(self) -> list[Path]:
        """Oldest first: the names sort by hour."""
        return sorted(self.directory.glob(PATTERN))

    def next_batch(self) -> Batch | None:
        """The oldest undelivered whole lines, at most max_bytes (or one line, if longer)."""
        for path in self.files():
            start = self.offsets.get(path.name, 0)
            try:
                size = path.stat().st_size
            except FileNotFoundError:
                continue
            if size <= start:
                continue
            with path.open("rb") as f:
                f.seek(start)
                chunk = f.read(self.max_bytes)
            cut = chunk.rfind(b"\n") + 1
            if cut == 0:
                if len(chunk) < self.max_bytes:
                    continue  # a line still being written: its end comes with the next write
                chunk = self._one_long_line(path, start)
                cut = len(chunk)
            return Batch(path.name, start, start + cut, chunk[:cut])
        return None

    def _one_long_line(self, path: Path, start: int) -> bytes:
        with path.open("rb") as f:
            f.seek(start)
            return f.readline()

    def commit(self, batch: Batch) -> None:
        """The store took the batch: save its end as the file's offset (atomically)."""
        self.offsets[batch.name] = batch.end
        self._save()

    def _save(self) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_bytes(orjson.dumps(self.offsets))
        os.replace(tmp, self.state_path)

    def backlog_bytes(self) -> int:
        total = 0
        for path in self.files():
            with contextlib.suppress(FileNotFoundError):
                total += max(0, path.stat().st_size - self.offsets.get(path.name, 0))
        return total

    def prune(self, now: float | None = None) -> list[str]:
        """Delete the delivered files the shipper has moved on from; forget their offsets."""
        now = time.time() if now is None else now
        files = self.files()
        gone = []
        for path in files[:-1]:  # never the newest: the shipper may still append to it
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            delivered = self.offsets.get(path.name, 0) >= stat.st_size
            if delivered and now - stat.st_mtime > QUIET_BEFORE_DELETE_S:
                path.unlink()
                gone.append(path.name)
        known = {p.name for p in files} - set(gone)
        if gone or set(self.offsets) - known:
            self.offsets = {k: v for k, v in self.offsets.items() if k in known}
            self._save()
        return gone
