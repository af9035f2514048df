"""Counting marked log lines: a missing line and a doubled one are told apart, per dataset."""

from __future__ import annotations

from chaos import log_events


def test_missing_and_duplicated_lines_are_counted_per_dataset() -> None:
    seen = {"m1": {"app": 1, "access": 0}, "m2": {"app": 2, "access": 1}}
    wanted = {"app": 1, "access": 1}
    assert log_events.lost_and_doubled(seen, wanted) == {
        "app": {"missing": 0, "duplicated": 1},
        "access": {"missing": 1, "duplicated": 0},
    }
    assert log_events.summary(seen, wanted) == (
        "of 2 markers, app: 0 line(s) missing, 1 duplicated; "
        "access: 1 line(s) missing, 0 duplicated"
    )
