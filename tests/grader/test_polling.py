from __future__ import annotations

import itertools

import pytest

from grader.errors import CheckFailed, GraderError
from grader.polling import drain_retried, poll_until


def test_returns_the_first_truthy_value() -> None:
    values = iter([None, 0, "", "ready"])
    assert poll_until(lambda: next(values), "readiness", timeout=2, interval=0.01) == "ready"


def test_timeout_names_what_it_waited_for_and_the_last_value() -> None:
    counter = itertools.count()
    with pytest.raises(CheckFailed) as err:
        poll_until(lambda: [] if next(counter) >= 0 else [1], "index logs-x to exist", 0.1, 0.02)
    message = str(err.value)
    assert message.startswith("timed out after 0.1 s waiting for index logs-x to exist;")
    assert "attempts): value []" in message
    assert isinstance(err.value, AssertionError)
    assert isinstance(err.value, GraderError)


def test_timeout_reports_the_last_exception_and_chains_it() -> None:
    def boom() -> bool:
        raise ConnectionError("connection refused\nsecond line")

    with pytest.raises(CheckFailed) as err:
        poll_until(boom, "the API", timeout=0.05, interval=0.01)
    assert "exception ConnectionError: connection refused" in str(err.value)
    assert "second line" not in str(err.value)
    assert isinstance(err.value.__cause__, ConnectionError)


def test_until_and_show_judge_and_describe_values() -> None:
    with pytest.raises(CheckFailed, match=r"last seen \(2 attempts\): value status=503$"):
        poll_until(
            lambda: 503,
            "HTTP 200",
            timeout=0.2,
            interval=1,
            until=lambda status: status == 200,
            show=lambda status: f"status={status}",
        )
    assert poll_until(lambda: 0, "zero", 1, until=lambda v: v == 0) == 0


def test_long_values_are_clipped() -> None:
    with pytest.raises(CheckFailed) as err:
        poll_until(lambda: "x" * 5000, "short", 0.01, 0.01, until=lambda v: False)
    assert len(str(err.value)) < 700


def test_bad_arguments_are_rejected() -> None:
    with pytest.raises(ValueError, match="timeout and interval must be positive"):
        poll_until(lambda: True, "x", timeout=0)


def test_a_wait_that_needed_more_than_one_attempt_is_kept_once() -> None:
    drain_retried()
    poll_until(lambda: 1, "the first try", 1)
    tries = iter([0, 0, 1])
    poll_until(lambda: next(tries), "the third try", 1, interval=0.01)
    (kept,) = drain_retried()
    assert kept.startswith("the third try: 3 attempts, ") and kept.endswith(" s")
    assert drain_retried() == []
