"""Waiting without sleeping blindly: every check that waits for the stack polls with this."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from grader.errors import CheckFailed

T = TypeVar("T")
_MAX_SHOWN = 500
# The waits that succeeded only after more than one attempt, since the last `drain_retried()`:
# the grader's plugin moves them into the report of the check that waited.
_retried: list[str] = []


def drain_retried() -> list[str]:
    """The waits that needed more than one attempt since the last call, oldest first."""
    drained = _retried[:]
    del _retried[: len(drained)]
    return drained


def poll_until(
    fn: Callable[[], T],
    description: str,
    timeout: float,
    interval: float = 0.5,
    *,
    until: Callable[[T], bool] = bool,
    show: Callable[[T], str] = repr,
) -> T:
    """Call `fn` until `until(value)` holds (by default: until it returns a truthy value).

    Exceptions from `fn` count as "not yet". On timeout, raise `CheckFailed` saying what was
    awaited, for how long, how many attempts were made, and the last value or exception seen.
    `description` completes the sentence "waited for ...", e.g. "log line abc123 to be
    searchable".
    """
    __tracebackhide__ = True  # pytest shows the check that waited, not this loop
    if timeout <= 0 or interval <= 0:
        raise ValueError(f"timeout and interval must be positive, got {timeout=} {interval=}")
    started = time.monotonic()
    deadline = started + timeout
    attempts = 0
    last = "nothing (fn was never called)"
    last_exc: Exception | None = None
    while True:
        attempts += 1
        try:
            value = fn()
        except Exception as exc:
            last_exc = exc
            last = f"exception {type(exc).__name__}: {_first_line(str(exc))}"
        else:
            if until(value):
                if attempts > 1:
                    took = time.monotonic() - started
                    _retried.append(f"{description}: {attempts} attempts, {took:.1f} s")
                return value
            last_exc = None
            last = f"value {_clip(show(value))}"
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        time.sleep(min(interval, remaining))
    raise CheckFailed(
        f"timed out after {timeout:g} s waiting for {description}; "
        f"last seen ({attempts} attempt{'s' if attempts != 1 else ''}): {last}"
    ) from last_exc


def _first_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return _clip(lines[0] if lines else "(no message)")


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."
