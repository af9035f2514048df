"""Long waits announce themselves: what they wait for, then how long they have waited."""

from __future__ import annotations

import os
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from grader import polling
from grader.errors import CheckFailed
from grader.polling import NOTICE_AFTER_S, TICK_S, Outcome, Wait, poll_until, set_notifier
from grader.wait_notices import LINE_EVERY_S, WaitNotices

pytest_plugins = ["pytester"]
REPO = Path(__file__).resolve().parents[2]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def begin(self, description: str, timeout: float) -> None:
        self.events.append(("begin", description, timeout))

    def progress(self, waited: float) -> None:
        self.events.append(("progress", waited))

    def end(self, waited: float, outcome: Outcome) -> None:
        self.events.append(("end", waited, outcome))


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(polling, "clock", fake)
    return fake


@pytest.fixture
def told() -> Iterator[Recorder]:
    recorder = Recorder()
    previous = set_notifier(recorder)
    yield recorder
    set_notifier(previous)


def ready_after(clock: FakeClock, seconds: float) -> Callable[[], bool]:
    ready_at = clock.now + seconds
    return lambda: clock.now >= ready_at


def test_a_short_wait_says_nothing(clock: FakeClock, told: Recorder) -> None:
    poll_until(ready_after(clock, NOTICE_AFTER_S / 2), "the quick thing", 10, interval=0.5)
    assert told.events == []


def test_a_long_wait_says_what_it_waits_for_then_how_long(clock: FakeClock, told: Recorder) -> None:
    poll_until(ready_after(clock, 7), "the slow thing", 60, interval=5)
    assert told.events[0] == ("begin", "the slow thing", 60)
    assert told.events[-1] == ("end", 10.0, "done")  # the attempt after 5 s of sleep, then 10 s
    waited = [event[1] for event in told.events[1:-1]]
    assert all(event[0] == "progress" for event in told.events[1:-1])
    assert waited[0] >= NOTICE_AFTER_S
    assert waited == sorted(waited) and waited[-1] == 10.0
    # The 5-s sleeps between attempts are cut so that the count goes on every second.
    assert max(clock.sleeps) <= TICK_S
    assert len(waited) >= 10 - NOTICE_AFTER_S


def test_a_wait_that_times_out_says_so(clock: FakeClock, told: Recorder) -> None:
    with pytest.raises(CheckFailed, match="timed out after 5 s waiting for the never thing"):
        poll_until(lambda: False, "the never thing", 5, interval=1)
    assert told.events[0] == ("begin", "the never thing", 5)
    assert told.events[-1] == ("end", 5.0, "timed out")


def test_an_interrupted_wait_says_it_stopped(clock: FakeClock, told: Recorder) -> None:
    def interrupted() -> bool:
        if clock.now - start >= 3:
            raise KeyboardInterrupt
        return False

    start = clock.now
    with pytest.raises(KeyboardInterrupt):
        poll_until(interrupted, "the interrupted thing", 60, interval=1)
    assert told.events[-1] == ("end", 3.0, "stopped")


def test_a_wait_inside_an_announced_wait_stays_silent(clock: FakeClock, told: Recorder) -> None:
    def inner() -> bool:
        poll_until(ready_after(clock, 3), "the inner thing", 10, interval=1)
        return True

    with Wait("the outer thing", 30) as outer:
        outer.sleep(3)
        assert inner()
        outer.succeeded()
    assert [e[1] for e in told.events if e[0] == "begin"] == ["the outer thing"]
    assert told.events[-1] == ("end", 6.0, "done")


def test_without_a_notifier_waits_still_work(clock: FakeClock) -> None:
    assert set_notifier(None) is None
    assert poll_until(ready_after(clock, 30), "the quiet thing", 60, interval=10) is True


class FakeScreen:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def line(self, text: str) -> None:
        self.calls.append(("line", text))

    def rewrite(self, text: str) -> None:
        self.calls.append(("rewrite", text))

    def finish(self) -> None:
        self.calls.append(("finish", ""))


def test_on_a_terminal_one_line_is_rewritten_in_place() -> None:
    screen = FakeScreen()
    notices = WaitNotices(screen, in_place=True)
    notices.begin("alert X to fire", 180)
    for waited in (2.0, 2.3, 2.6, 3.1, 10.2):
        notices.progress(waited)
    notices.end(10.4, "done")
    assert screen.calls == [
        ("line", "  waiting up to 180 s for alert X to fire"),
        ("line", "  waited 2 s so far"),
        ("rewrite", "  waited 3 s so far"),  # 2.3 s still showed 2 s: not drawn again
        ("rewrite", "  waited 10 s so far"),
        ("rewrite", "  waited 10 s: done "),  # a space wipes the longer text before it
        ("finish", ""),
    ]


def test_off_a_terminal_a_line_at_the_start_the_end_and_every_30_s() -> None:
    screen = FakeScreen()
    notices = WaitNotices(screen, in_place=False)
    notices.begin("an email", 300)
    for second in range(2, 95):
        notices.progress(float(second))
    notices.end(95.25, "timed out")
    lines = [text for kind, text in screen.calls if kind == "line"]
    assert lines == [
        "  waiting up to 300 s for an email",
        f"  waited {2 + LINE_EVERY_S:.0f} s so far",
        f"  waited {2 + 2 * LINE_EVERY_S:.0f} s so far",
        f"  waited {2 + 3 * LINE_EVERY_S:.0f} s so far",
        "  waited 95.2 s: timed out",
    ]
    assert screen.calls[-1] == ("finish", "")


CHECKLIST = """
modules:
  alpha: {title: Alpha, points: 1}
items:
  - {id: alpha-one, module: alpha, text: "It waits"}
"""

TARGET = """
version: 1
name: tiny
runtime: external
control: {driver: none}
timeouts: {default: 1}
components:
  nothing: {role: nothing, probe: {kind: tcp, host: 127.0.0.1, port: 9}}
"""

WAITING_CHECK = """
import time

import pytest

from grader.polling import poll_until


@pytest.mark.checklist("alpha-one")
def test_waits():
    print("this stays captured")
    ready_at = time.monotonic() + 3
    poll_until(lambda: time.monotonic() >= ready_at, "the tiny thing to be ready", 30, 0.2)
"""


def test_the_notice_reaches_the_terminal_past_pytest_capture(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.delenv("STACK_TARGET", raising=False)
    checks = pytester.mkdir("checks")
    (checks / "conftest.py").write_text('pytest_plugins = ["grader.plugin"]\n', encoding="utf-8")
    (checks / "checklist.yaml").write_text(CHECKLIST, encoding="utf-8")
    (checks / "test_wait.py").write_text(textwrap.dedent(WAITING_CHECK), encoding="utf-8")
    (pytester.path / "target.yaml").write_text(TARGET, encoding="utf-8")
    result = pytester.runpytest_subprocess(
        "checks/test_wait.py", "--target", "target.yaml", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "checks/test_wait.py ",
            "  waiting up to 30 s for the tiny thing to be ready",
            "  waited *.* s: done",
            "checks/test_wait.py .*",
        ]
    )
    result.stdout.no_fnmatch_line("*this stays captured*")


def test_a_wait_in_another_thread_stays_silent(clock: FakeClock, told: Recorder) -> None:
    worker = threading.Thread(
        target=poll_until, args=(ready_after(clock, 5), "the background thing", 10, 1)
    )
    worker.start()
    worker.join()
    assert told.events == []
