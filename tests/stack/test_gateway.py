"""Integration: the whole local stack on offset ports, exercised through the nginx gateway:
its own JSON errors, limits, and each service's OpenAPI fuzzed through it (schemathesis)."""

import os
import subprocess
import sys

import httpx
import pytest

from grader import journeys
from grader.polling import poll_until
from stack.paths import DataDir
from stack.runtimes.local.runtime import LocalRuntime
from stack.topology import build, offset_ports

OFFSET = 16000


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    topology = build(environ=offset_ports(OFFSET))
    runtime = LocalRuntime(DataDir(tmp_path_factory.mktemp("gw")), topology)
    runtime.up(only=["gateway", "auth", "users", "games"])
    yield runtime
    runtime.down(purge=True)


@pytest.fixture(scope="module")
def gateway(stack):
    with httpx.Client(base_url=stack.topology.get("gateway").url(), timeout=5) as client:
        yield client


@pytest.fixture(scope="module")
def player(gateway):
    player = journeys.register(gateway, "gw")
    poll_until(lambda: journeys.profile(gateway, player).status_code == 200,
               "the profile to exist", timeout=10)
    return player


def test_oversized_body_is_a_json_413(gateway):
    response = gateway.post("/api/games", content=b"x" * (2 * 1024 * 1024))
    assert response.status_code == 413
    assert response.json()["error"] == "request body too large"


def test_unknown_route_is_a_json_404(gateway):
    for path in ("/api/nothing", "/nothing"):
        response = gateway.get(path)
        assert response.status_code == 404 and "error" in response.json(), path


def test_request_id_is_propagated(gateway):
    response = gateway.get("/api/auth/verify", headers={"X-Request-ID": "grader-req-1"})
    assert response.headers["X-Request-ID"] == "grader-req-1"


@pytest.mark.parametrize("service", ["auth", "users", "games"])
def test_openapi_through_the_gateway_has_no_server_error(stack, player, service):
    direct = stack.topology.resolve(service)[0].url()
    st = os.path.join(os.path.dirname(sys.executable), "schemathesis")
    result = subprocess.run(
        [st, "run", f"{direct}/openapi.json", "--url", stack.topology.get("gateway").url(),
         "--checks", "not_a_server_error", "--max-examples", "8", "--seed", "1",
         "--phases", "examples,fuzzing", "--request-timeout", "5",
         "--include-path-regex", f"^/api/{service}",
         # the users -> games call is covered by its own breaker tests
         "--exclude-path", "/api/users/me/games",
         # the login limiter answers 429 by design once fuzzing hammers it
         "--exclude-path", "/api/auth/login",
         "-H", f"Authorization: Bearer {player.token}"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout[-3000:]


def test_login_is_rate_limited_at_the_gateway(gateway, player):
    """Last in the module: it leaves the limiter hot for this client address."""
    wrong = {"username": "nobody-at-all", "password": "wrong password"}
    statuses = [gateway.post("/api/auth/login", json=wrong).status_code for _ in range(40)]
    assert 429 in statuses, f"no 429 in {len(statuses)} rapid logins: {sorted(set(statuses))}"
