"""Waiting without sleeping blindly: every check that waits for the stack polls with this.

A wait that lasts more than `NOTICE_AFTER_S` seconds is announced to the installed
`WaitNotifier` (the grader's pytest plugin installs one that writes to the terminal), so a
long wait says what it waits for instead of leaving the terminal silent for minutes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Literal, Protocol, TypeVar

from grader.errors import CheckFailed

T = TypeVar("T")
_MAX_SHOWN = 500
# Shorter waits pass unannounced: most polls succeed within a second or two.
NOTICE_AFTER_S = 2.0
# A long sleep between attempts is cut into slices this long, so the notice stays current.
TICK_S = 1.0
# The waits that succeeded only after more than one attempt, since the last `drain_retried()`:
# the grader's plugin moves them into the report of the check that waited.
_retried: list[str] = []

Outcome = Literal["done", "timed out", "stopped"]


class WaitNotifier(Protocol):
    """Told about one long wait at a time: `begin` once, `progress` often, `end` once."""

    def begin(self, description: str, timeout: float) -> None: ...

    def progress(self, waited: float) -> None: ...

    def end(self, waited: float, outcome: Outcome) -> None: ...


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class _SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


clock: Clock = _SystemClock()  # what every wait measures and sleeps with
_notifier: WaitNotifier | None = None
_announcing = False  # a wait is being announced: a wait nested in it stays silent


def set_notifier(notifier: WaitNotifier | None) -> WaitNotifier | None:
    """Install the notifier of long waits (None: no notices); returns the one it replaces."""
    global _notifier
    previous, _notifier = _notifier, notifier
    return previous


class Wait:
    """One wait, announced once it has lasted `NOTICE_AFTER_S` seconds.

    For a wait that is not a `poll_until`: `with Wait("the thing", timeout) as wait:` and call
    `wait.tick()` (or `wait.sleep(s)`) in its loop, then `wait.succeeded()` once it is over.
    """

    def __init__(self, description: str, timeout: float) -> None:
        self.description, self.timeout = description, timeout
        self._clock = clock
        # Only the main thread's waits are told: pytest's capture, which the notifier suspends
        # to reach the terminal, is not meant to be switched from two threads at once.
        on_main = threading.current_thread() is threading.main_thread()
        self._notifier = _notifier if on_main else None
        self.started = self._clock.monotonic()
        self._announced = False
        self._outcome: Outcome = "timed out"

    def waited(self) -> float:
        return self._clock.monotonic() - self.started

    def tick(self) -> None:
        """Let the notifier know how long this has waited (announcing it when due)."""
        global _announcing
        if self._notifier is None:
            return
        waited = self.waited()
        if not self._announced:
            if waited < NOTICE_AFTER_S or _announcing:
                return
            self._announced = _announcing = True
            self._notifier.begin(self.description, self.timeout)
        self._notifier.progress(waited)

    def sleep(self, seconds: float) -> None:
        """Sleep `seconds`, telling the notifier how long it has waited every `TICK_S`."""
        wake = self._clock.monotonic() + seconds
        while (left := wake - self._clock.monotonic()) > 0:
            self._clock.sleep(min(left, TICK_S))
            self.tick()

    def succeeded(self) -> None:
        self._outcome = "done"

    def __enter__(self) -> Wait:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        global _announcing
        if not self._announced or self._notifier is None:
            return
        _announcing = False
        outcome: Outcome = self._outcome
        if exc is not None and not isinstance(exc, CheckFailed):
            outcome = "stopped"  # interrupted, or broken by something else than a timeout
        self._notifier.end(self.waited(), outcome)


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
    searchable"; a long wait shows it on the terminal while it waits.
    """
    __tracebackhide__ = True  # pytest shows the check that waited, not this loop
    if timeout <= 0 or interval <= 0:
        raise ValueError(f"timeout and interval must be positive, got {timeout=} {interval=}")
    with Wait(description, timeout) as wait:
        return _poll(wait, fn, until, show, interval)


def _poll(
    wait: Wait,
    fn: Callable[[], T],
    until: Callable[[T], bool],
    show: Callable[[T], str],
    interval: float,
) -> T:
    __tracebackhide__ = True
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
                    _retried.append(
                        f"{wait.description}: {attempts} attempts, {wait.waited():.1f} s"
                    )
                wait.succeeded()
                return value
            last_exc = None
            last = f"value {_clip(show(value))}"
        wait.tick()
        remaining = wait.timeout - wait.waited()
        if remaining <= 0:
            break
        wait.sleep(min(interval, remaining))
    raise CheckFailed(
        f"timed out after {wait.timeout:g} s waiting for {wait.description}; "
        f"last seen ({attempts} attempt{'s' if attempts != 1 else ''}): {last}"
    ) from last_exc


def _first_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return _clip(lines[0] if lines else "(no message)")


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."
