"""`python -m load` switches the fault flags off when interrupted mid-fault, and reports a
unit that refuses the switch-off (stand-in units and gateway: no stack needed)."""

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from grader.polling import poll_until

REPO = Path(__file__).resolve().parents[2]
OFF = {"error_rate": 0.0, "latency_ms": 0, "fail_health": False}


def _flagged(server):
    return any(body["error_rate"] == 0.5 for _, _, body in server.seen)


@pytest.fixture
def spike(stand_in_target, stand_ins):
    """An error-spike whose fault phase starts 2 s in; yields (child, games stand-ins) once
    both units got the flag."""
    target = stand_in_target()
    child = subprocess.Popen(
        [sys.executable, "-m", "load", "error-spike", "--target", str(target.source),
         "--duration", "8", "--users", "1"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    games = stand_ins[:2]
    try:
        poll_until(lambda: all(map(_flagged, games)), "the flag on both units", timeout=20)
        yield child, games
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_ctrl_c_in_the_fault_phase_switches_the_flags_off(spike):
    child, games = spike
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=20)
    assert child.returncode == 1, err[-2000:]
    assert "ERROR: interrupted (SIGINT or SIGTERM)" in out
    assert [s.seen[-1][2] for s in games] == [OFF, OFF]


def test_a_unit_that_refuses_the_switch_off_is_named(spike):
    child, games = spike
    games[1].status = 500
    child.send_signal(signal.SIGTERM)
    out, _ = child.communicate(timeout=20)
    assert child.returncode == 1
    assert "switching the faults off: FaultsError" in out
    assert "games-2" in out and "HTTP 500" in out
    assert games[0].seen[-1][2] == OFF  # the other unit was still switched off
