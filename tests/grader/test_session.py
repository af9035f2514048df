from __future__ import annotations

import pytest

from grader.errors import CheckFailed
from grader.session import failure_message


def test_failure_message_is_the_first_line_of_what_went_wrong() -> None:
    assert failure_message(CheckFailed("expected 401, observed 200\ndetails")) == (
        "expected 401, observed 200"
    )
    assert failure_message(AssertionError("assert 1 == 2\n +  where ...")) == "assert 1 == 2"
    assert failure_message(AssertionError()) == "assertion failed"
    assert failure_message(ConnectionError("refused")) == "ConnectionError: refused"
    assert failure_message(KeyError()) == "KeyError"


def test_failure_message_of_a_skip_is_its_reason() -> None:
    with pytest.raises(pytest.skip.Exception) as skipped:
        pytest.skip("target has no control driver")
    assert failure_message(skipped.value) == "target has no control driver"
