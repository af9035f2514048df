"""Integration: the load shapes against a real stack (gateway, auth, users, games x2) on
ports offset by 19000, through grader/load.py as the checks drive them."""

import pytest

from grader.faults import admin_token_file, metric_flags, units
from grader.load import run_shape
from grader.target import load_target
from stack.paths import DataDir
from stack.probes import read_secret
from stack.runtimes.local.runtime import LocalRuntime
from stack.topology import build, offset_ports

pytestmark = pytest.mark.integration
OFFSET = 19000
# offset_ports moves RabbitMQ's 15692, 25672 and 35672 into Linux's ephemeral port range
# (32768-60999), where a client socket in TIME_WAIT can hold one for a minute and `up` then
# refuses to start ("port taken", seen twice here). This test's band (20000-29999) has room.
PORTS = {
    **offset_ports(OFFSET),
    "STACK_PORT_RABBITMQ_DIST": "29672",
    "STACK_PORT_RABBITMQ_CTL": "29673",
    "STACK_PORT_RABBITMQ_METRICS": "29692",
}
GAMES = "/api/games"


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    runtime = LocalRuntime(DataDir(tmp_path_factory.mktemp("load")), build(environ=PORTS))
    runtime.up(only=["gateway", "auth", "users", "games"])
    yield load_target(runtime.data.target_file)
    runtime.down(purge=True)


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


def test_error_spike_fails_games_during_the_spike_only_and_ends_with_flags_off(target):
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
    assert summary.phase("before").count("5xx") == 0, summary.phase("before")
    token = read_secret(admin_token_file(target))
    off = {"error_rate": 0.0, "latency_ms": 0.0, "fail_health": 0.0}
    for unit, url in units(target, "games").items():
        assert metric_flags(url, token) == off, unit
