"""The last good JWKS on disk, with the time it was fetched, so that a service restarted while
auth is down still verifies the tokens auth signed before it went down.

The file is public keys only (nothing secret), but it decides whom the service believes, so it
is written mode 600 and atomically: a crash mid-write leaves the previous copy, never half of
one. A copy that cannot be read or parsed is ignored with a log line: the service then waits
for auth as it would without a copy, it does not crash.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("chassis.jwks")

FILE_NAME = "jwks.json"


@dataclass(frozen=True)
class SavedJwks:
    document: dict[str, Any]  # the JWKS as auth served it: {"keys": [...]}
    fetched_at: float  # Unix time of the fetch from auth


def load(path: Path) -> SavedJwks | None:
    """The copy at `path`; None (logged) when there is none or it is unusable."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        log.info("no saved JWKS at %s yet: waiting for auth's", path)
        return None
    except OSError as exc:
        log.warning("ignoring the saved JWKS at %s: cannot read it: %s", path, exc.strerror)
        return None
    try:
        body = json.loads(raw)
        document, fetched_at = body["jwks"], float(body["fetched_at"])
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise ValueError("`jwks.keys` is not a list")
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring the saved JWKS at %s: not a saved JWKS (%s)", path, exc)
        return None
    return SavedJwks(document, fetched_at)


def save(path: Path, saved: SavedJwks) -> None:
    """Write the copy atomically (temp file in the same directory, fsync, rename), mode 600."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    text = json.dumps({"fetched_at": saved.fetched_at, "jwks": saved.document}, indent=1)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:  # mkstemp creates it mode 600
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
