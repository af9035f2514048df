"""The shapes' tick() sequences, stepped with a fake clock and a fake switch (pure: no
Locust in the pytest process, see grader/loadgen.py)."""

import pytest

from load import schedule
from load.schedule import Options, Ticker

OPTIONS = Options(duration=8, users=4, spawn_rate=2, error_rate=0.5, latency_ms=700)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def run(shape, switch=None, seconds=10):
    """Ticks once a second like Locust's shape worker; returns the answers and the clock."""
    clock = Clock()
    ticker = Ticker(schedule.plan(shape, OPTIONS), switch, clock)
    answers = []
    for second in range(seconds):
        clock.now = 1000.0 + second
        answers.append(ticker.tick(float(second)))
        if answers[-1] is None:
            break
    return ticker, answers


def test_steady_holds_the_users_then_ends():
    switched = []
    ticker, answers = run("steady", switched.append)
    assert answers == [(4, 2)] * 8 + [None]
    assert switched == []  # steady never touches the flags
    assert [t.phase for t in ticker.transitions] == ["steady", "end"]


@pytest.mark.parametrize(
    ("shape", "flags"),
    [("error-spike", {"error_rate": 0.5}), ("latency", {"latency_ms": 700})],
)
def test_fault_shapes_switch_on_in_the_middle_and_off_after(shape, flags):
    switched = []
    ticker, answers = run(shape, switched.append)
    # 8 s: 2 s before, 4 s with the fault, 2 s after, then the end.
    assert answers == [(4, 2)] * 8 + [None]
    assert switched == [flags, {}]
    assert [(t.phase, t.at) for t in ticker.transitions] == [
        ("before", 1000.0),
        ("fault", 1002.0),
        ("after", 1006.0),
        ("end", 1008.0),
    ]
    assert ticker.phase_of(1003.5) == "fault" and ticker.phase_of(1006.2) == "after"
    assert ticker.phase_of(999.0) is None


def test_flags_go_off_when_the_run_is_cut_short():
    switched = []
    ticker = Ticker(schedule.plan("error-spike", OPTIONS), switched.append)
    ticker.tick(0.0)
    ticker.tick(3.0)  # in the fault phase
    ticker.close()  # Ctrl-C, or the runner's finally
    ticker.close()
    assert switched == [{"error_rate": 0.5}, {}]


def test_a_failing_switch_ends_the_run_and_off_is_retried():
    calls = []

    def switch(flags):
        calls.append(flags)
        if flags:  # the PUT fails half-way: some units may hold the flag
            raise RuntimeError("games-2: HTTP 503")

    ticker, answers = run("error-spike", switch)
    assert answers == [(4, 2), (4, 2), None]
    assert ticker.errors == ["RuntimeError: games-2: HTTP 503"]
    assert calls == [{"error_rate": 0.5}, {}]  # off, although `applied` was never on


def test_unknown_shape_and_bad_options_are_named():
    with pytest.raises(ValueError, match="unknown shape 'spike'; known: steady, error-spike"):
        schedule.plan("spike", OPTIONS)
    with pytest.raises(ValueError, match="duration=0"):
        Options(duration=0)
    with pytest.raises(ValueError, match="users=0"):
        Options(users=0)


def test_requests_in_flight_across_a_switch_count_in_the_fault_phase():
    """A clean phase holds only requests that cannot have met a flag: the switch takes time
    (one PUT per unit), and a request sent just before it may reach a unit after it."""
    clock = Clock()

    def slow_switch(flags):
        clock.now += 0.1

    ticker = Ticker(schedule.plan("error-spike", OPTIONS), slow_switch, clock)
    for second in range(9):
        clock.now = 1000.0 + second
        ticker.tick(float(second))
    # fault: switch begun 1002.0, done 1002.1; after: begun 1006.0, done 1006.1
    assert ticker.phase_of(1001.0, 1001.5) == "before"
    assert ticker.phase_of(1001.99, 1002.01) == "fault"  # sent before, arrived during
    assert ticker.phase_of(1002.05, 1002.06) == "fault"  # sent while switching on
    assert ticker.phase_of(1006.05, 1006.06) == "fault"  # sent while switching off
    assert ticker.phase_of(1006.1, 1006.2) == "after"
    assert ticker.phase_of(1005.0, 1007.0) == "fault"  # started in the fault, ended after


def test_a_request_that_ends_while_the_flags_are_being_set_counts_in_the_fault_phase():
    """The runner counts a request when it ends, and Locust's other greenlets run while the
    switch waits on its PUTs: the phase must already be known then (seen in CI as a 5xx
    counted in "before")."""
    clock = Clock()
    seen = []

    def switch(flags):
        clock.now += 0.05  # one unit flagged, the next not yet
        seen.append((bool(flags), ticker.phase_of(clock.now - 0.01, clock.now)))
        clock.now += 0.05

    ticker = Ticker(schedule.plan("error-spike", OPTIONS), switch, clock)
    for second in range(9):
        clock.now = 1000.0 + second
        ticker.tick(float(second))
    assert seen == [(True, "fault"), (False, "fault")]
    assert [t.phase for t in ticker.transitions] == ["before", "fault", "after", "end"]
    assert ticker.transitions[1].at == pytest.approx(1002.1)  # when done, not while pending
