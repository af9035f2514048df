"""Logins are rate-limited at the gateway per client address (stack/config/nginx:
`limit_req zone=login rate=30r/m burst=10`), and all load comes from 127.0.0.1. A load test
that exceeded the limit would measure the limiter (429s), so the users share this budget.
"""

from __future__ import annotations

import time
from collections.abc import Callable

LOGINS_PER_SECOND = 0.4  # 24 a minute: below the gateway's 30, leaving room for the checks
LOGIN_BURST = 4  # below the gateway's burst of 10, and few argon2 hashes at once (auth p95)


class Pacer:
    """A token bucket: `take()` is True when an action may happen now."""

    def __init__(
        self,
        per_second: float = LOGINS_PER_SECOND,
        burst: int = LOGIN_BURST,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_second <= 0 or burst < 1:
            raise ValueError(f"per_second={per_second!r} must be > 0 and burst={burst!r} >= 1")
        self.per_second, self.burst, self.clock = per_second, burst, clock
        self._tokens = float(burst)
        self._at = clock()

    def take(self) -> bool:
        now = self.clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.per_second)
        self._at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True

    def wait(self, timeout: float, sleep: Callable[[float], object] = time.sleep) -> bool:
        """Take a token, waiting up to `timeout` seconds for one (time.sleep is gevent's in
        the Locust process, so a waiting user does not block the others)."""
        deadline = self.clock() + timeout
        while not self.take():
            if self.clock() >= deadline:
                return False
            sleep(min(1 / self.per_second, max(deadline - self.clock(), 0.01)))
        return True
