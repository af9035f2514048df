"""grader/logs.py: the ELK checks' helpers. (They run against real stores in
`checks/test_elk.py`.)"""

from __future__ import annotations

import os
from datetime import timedelta

import pytest

from grader import logs
from grader.errors import CheckFailed


def test_time_values_and_settings_in_both_shapes() -> None:
    assert logs.es_duration("7d") == timedelta(days=7)
    assert logs.es_duration("0ms") == timedelta(0)
    with pytest.raises(CheckFailed, match="7 days"):
        logs.es_duration("7 days")
    nested = {"index": {"lifecycle": {"name": "logs-retention"}}}
    assert logs._setting(nested, "index.lifecycle.name") == "logs-retention"
    assert logs._setting({"index.lifecycle.name": "x"}, "index.lifecycle.name") == "x"
    assert logs._setting({}, "index.lifecycle.name") is None


def test_syslog_lines_carry_priority_app_and_message() -> None:
    line = logs.rfc5424("probe", "hello", severity=3)
    assert line.startswith("<11>1 ") and line.endswith(f" probe {_pid()} - - hello")
    bsd = logs.rfc3164("probe", "hi")
    assert bsd.startswith("<14>") and bsd.endswith(f"probe[{_pid()}]: hi")


def _pid() -> int:
    return os.getpid()
