"""Integration: the load shapes against a real stack (gateway, auth, users, games x2) on
ports offset by 19000, through grader/loadgen.py as the checks drive them."""

import json
from datetime import datetime

import pytest
from healthprobe import read_secret

from grader.faults import admin_token_file, metric_flags, units
from grader.loadgen import run_shape
from grader.target import load_target
from stack.paths import DataDir
from stack.runtimes.local.runtime import LocalRuntime
from stack.topology import build, offset_ports

pytestmark = pytest.mark.integration
OFFSET = 19000
PORTS = offset_ports(OFFSET)
GAMES = "/api/games"


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    runtime = LocalRuntime(DataDir(tmp_path_factory.mktemp("load")), build(environ=PORTS))
    runtime.up(only=["gateway", "auth", "users", "games"])
    yield runtime
    runtime.down(purge=True)


@pytest.fixture(scope="module")
def target(runtime):
    return load_target(runtime.data.target_file)


def server_side(runtime, since: float, until: float) -> str:
    """The gateway's error log and the services' ERROR lines between two Unix times: what
    a 5xx was, seen from the server side (this found the phase-counting race in
    load/schedule.py: the 500s were injected ones)."""
    data = runtime.data
    lines = []
    nginx = data.component_data("gateway") / "logs" / "error.log"
    if nginx.exists():
        lines += [f"gateway: {line}" for line in nginx.read_text().splitlines()[-10:]]
    for unit in runtime.topology.units():
        log = data.program_log(unit.name)  # supervisord's file, as `stack logs` reads it
        if not unit.service or not log.exists():
            continue
        for line in log.read_text(errors="replace").splitlines():
            try:
                event = json.loads(line)
                at = datetime.fromisoformat(event["@timestamp"]).timestamp()
            except (ValueError, KeyError, TypeError):
                lines.append(f"{unit.name}: {line}")  # a traceback, or a line not ours
                continue
            if since <= at < until and event.get("log.level") in {"error", "critical"}:
                lines.append(f"{unit.name}: {line}")
    return "\n".join(lines[-30:]) or "(no error lines in the gateway's or the services' logs)"


def test_steady_load_runs_every_journey_without_a_failure(target):
    summary = run_shape(target, "steady", duration=12)
    assert summary.errors == []
    assert summary.requests > 100, summary
    assert summary.failures == 0, summary.failure_reasons
    seen = {e.name for e in summary.endpoints if e.requests}
    journeys = {"POST /api/auth/register", "POST /api/auth/login", "GET /api/users/me",
                "GET /.well-known/jwks.json", "POST /api/games", "POST /api/games/[id]/moves",
                "POST /api/games/[id]/join"}  # fmt: skip
    assert journeys <= seen, f"missing: {journeys - seen}"


def test_error_spike_fails_games_during_the_spike_only_and_ends_with_flags_off(target, runtime):
    # Fewer users than steady: their sign-ups (argon2) are done before the fault phase starts.
    summary = run_shape(target, "error-spike", duration=12, users=6, spawn_rate=6)
    assert summary.errors == []
    assert [p.name for p in summary.phases] == ["before", "fault", "after", "end"]
    fault, after = summary.phase("fault"), summary.phase("after")
    assert fault.faults == {"error_rate": 0.5}
    assert fault.count("5xx", prefix=GAMES) > 0, fault
    assert fault.count("5xx") == fault.count("5xx", prefix=GAMES), "only games was faulted"
    assert after.count(prefix=GAMES) > 0, "no games request after the spike: nothing proven"
    assert after.count("5xx") == 0, after
    before = summary.phase("before")
    assert before.count("5xx") == 0, (
        f"{before}\nserver side:\n{server_side(runtime, before.started_at, fault.started_at)}"
    )
    token = read_secret(admin_token_file(target))
    off = {"error_rate": 0.0, "latency_ms": 0.0, "fail_health": 0.0}
    for unit, url in units(target, "games").items():
        assert metric_flags(url, token) == off, unit
