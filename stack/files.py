"""Writing files so that a reader never sees half of one: temp file, fsync, rename."""

from __future__ import annotations

import os
from pathlib import Path


def atomic_write(path: Path, text: str, *, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(tmp, mode)  # O_CREAT's mode is masked by the umask
    os.replace(tmp, path)


def write_if_changed(path: Path, text: str, *, mode: int = 0o644) -> bool:
    """Write atomically unless the content is already there; returns whether it changed.
    Callers restart a program only when its files changed, so `up` twice is a no-op."""
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    atomic_write(path, text, mode=mode)
    return True
