"""`logs -f`: follow a log file across supervisord's rotations."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None  # between the rename and the new file: keep reading the old one
    return (st.st_dev, st.st_ino)


def follow(
    path: Path,
    write: Callable[[str], None],
    *,
    from_start: bool = True,
    poll_s: float = 0.2,
    keep_going: Callable[[], bool] = lambda: True,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Write what `path` holds, then what is appended, until `keep_going()` says stop.

    supervisord rotates a log by renaming it and opening a new file under the same name (a new
    inode), or a tool may truncate it in place (the file shrinks): in both cases read what is left
    of the open file, then reopen the path and read it from its start, so no line is lost."""
    handle: IO[str] = path.open("r", encoding="utf-8", errors="replace")
    try:
        if not from_start:
            handle.seek(0, os.SEEK_END)
        opened = _identity(path)
        while True:
            chunk = handle.read()
            if chunk:
                write(chunk)
                continue
            if not keep_going():
                return
            now = _identity(path)
            if now is not None and now != opened:  # rotated: a new file under the same name
                handle.close()
                handle = path.open("r", encoding="utf-8", errors="replace")
                opened = now
                continue
            if now is not None and path.stat().st_size < handle.tell():  # truncated in place
                handle.seek(0)
                continue
            sleep(poll_s)
    finally:
        handle.close()
