"""A pybreaker circuit breaker whose state is the metric `circuit_breaker_state{name}`
(0 closed, 1 half-open, 2 open). Usable around sync calls and inside async code."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import pybreaker
from prometheus_client import Gauge

STATE = Gauge("circuit_breaker_state", "0 closed, 1 half-open, 2 open", ["name"])
STATE_VALUES = {pybreaker.STATE_CLOSED: 0, pybreaker.STATE_HALF_OPEN: 1, pybreaker.STATE_OPEN: 2}
CircuitOpenError = pybreaker.CircuitBreakerError
T = TypeVar("T")


class _Export(pybreaker.CircuitBreakerListener):
    def state_change(
        self,
        cb: pybreaker.CircuitBreaker,
        old_state: pybreaker.CircuitBreakerState | None,
        new_state: pybreaker.CircuitBreakerState,
    ) -> None:
        STATE.labels(cb.name).set(STATE_VALUES.get(new_state.name, 0))


class Breaker:
    """`breaker.call(fn, ...)` for sync code, `async with breaker.guard():` for async code.

    Open: calls fail at once with `CircuitOpenError` until `reset_timeout_s` has passed."""

    def __init__(self, name: str, *, fail_max: int = 5, reset_timeout_s: float = 10.0) -> None:
        self.cb = pybreaker.CircuitBreaker(
            fail_max=fail_max, reset_timeout=reset_timeout_s, name=name, listeners=[_Export()]
        )
        STATE.labels(name).set(0)

    @property
    def state(self) -> str:
        return str(self.cb.current_state)

    def call(self, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
        return self.cb.call(fn, *args, **kwargs)

    @asynccontextmanager
    async def guard(self) -> AsyncIterator[None]:
        with self.cb.calling():
            yield

    async def call_async(self, fn: Callable[..., Awaitable[T]], *args: object) -> T:
        async with self.guard():
            return await fn(*args)
