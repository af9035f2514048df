"""The console's error tree: bad start-up configuration, and failures of an upstream."""

from __future__ import annotations


class ConsoleError(Exception):
    """Base of every console error."""


class ConsoleConfigError(ConsoleError):
    """A bad file, key or flag at start-up: the process exits 2 before it listens."""


class UpstreamError(ConsoleError):
    """Prometheus or logstore refused or failed a request; `status` is what the client gets."""

    def __init__(self, message: str, *, status: int = 502) -> None:
        super().__init__(message)
        self.status = status
