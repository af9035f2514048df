"""The write-ahead log: a bulk is acknowledged once its records are fsynced here.

One file per commit generation (`wal-<gen>.log`); a line is `<crc32 hex> <op> <record>`.
Records carry their `_id`, so replay is idempotent: `create` skips an `_id` already present,
`index` deletes then adds. A torn last line (a crash mid-write) fails its checksum and is
ignored: it was never acknowledged.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator
from pathlib import Path


class Wal:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        gens = self.generations()
        self.gen = (gens[-1] + 1) if gens else 1
        self.size = 0  # bytes written to the current generation
        self._file = open(self._path(self.gen), "ab")  # noqa: SIM115 - held for the log's life

    def _path(self, gen: int) -> Path:
        return self.directory / f"wal-{gen:08d}.log"

    def generations(self) -> list[int]:
        return sorted(int(p.stem[4:]) for p in self.directory.glob("wal-*.log"))

    def append(self, lines: list[tuple[bytes, bytes]]) -> None:
        """Write (op, record) lines; `sync` makes them durable."""
        chunks = []
        for op, record in lines:
            body = op + b" " + record
            chunks.append(b"%08x " % zlib.crc32(body) + body + b"\n")
        data = b"".join(chunks)
        self._file.write(data)
        self.size += len(data)

    def sync(self) -> None:
        self._file.flush()
        os.fdatasync(self._file.fileno())

    def rotate(self) -> int:
        """Start a new generation; returns the one just closed (delete it after commit)."""
        self.sync()
        self._file.close()
        closed = self.gen
        self.gen += 1
        self.size = 0
        self._file = open(self._path(self.gen), "ab")  # noqa: SIM115
        return closed

    def drop_through(self, gen: int) -> None:
        for old in self.generations():
            if old <= gen:
                self._path(old).unlink(missing_ok=True)

    def replay(self) -> Iterator[tuple[bytes, bytes]]:
        """Every intact record of the generations before the current one."""
        for gen in self.generations():
            if gen >= self.gen:
                continue
            for line in self._path(gen).read_bytes().split(b"\n"):
                crc, _, body = line.partition(b" ")
                if not body or b"%08x" % zlib.crc32(body) != crc:
                    continue
                op, _, record = body.partition(b" ")
                yield op, record

    def close(self) -> None:
        self._file.close()
