"""Microservices (the course's module 3): independence, communication, separate deployment, isolated
failures, health checks. Everything goes through the gateway, as a user's requests do, and is
judged by what the grader observes (responses, database logins), never by a service's word.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psycopg
import pytest
from healthprobe import run_probe

from grader import journeys
from grader.errors import CheckFailed
from grader.polling import poll_until
from grader.target import Target, Timeouts


@pytest.fixture(scope="module")
def gateway(target: Target) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=target.url("gateway", "main"), timeout=5) as client:
        yield client


@pytest.fixture(scope="module")
def alice(gateway: httpx.Client) -> journeys.Player:
    return journeys.register(gateway, "alice")


@pytest.fixture(scope="module")
def bob(gateway: httpx.Client) -> journeys.Player:
    return journeys.register(gateway, "bob")


def units(target: Target, service: str) -> list[str]:
    """The target's components that run `service` (one, or every replica)."""
    found = [n for n, c in target.components.items() if service in (n, c.replica_of)]
    if not found:
        raise CheckFailed(f"the target has no component for service {service!r}")
    return found


def operations(gateway: httpx.Client, player: journeys.Player) -> dict[str, Callable[[], int]]:
    """One real request per service, through the gateway: its status code."""
    login = {"username": player.username, "password": journeys.PASSWORD}
    return {
        "auth": lambda: gateway.post("/api/auth/login", json=login).status_code,
        "users": lambda: journeys.profile(gateway, player).status_code,
        "games": lambda: gateway.get("/api/games", headers=player.headers).status_code,
        "status": lambda: gateway.get("/api/v2/status.json").status_code,
    }


def service_operations(
    target: Target, gateway: httpx.Client, player: journeys.Player
) -> dict[str, Callable[[], int]]:
    """`operations` for each of the target's services; one the grader has no request for
    fails the item, naming it, rather than being skipped."""
    known = operations(gateway, player)
    services = target.service_names()
    unknown = [s for s in services if s not in known]
    if unknown:
        raise CheckFailed(
            f"the grader has no request for service(s) {unknown} of the target; "
            f"it knows {sorted(known)}"
        )
    return {s: known[s] for s in services}


@pytest.mark.checklist("ms-communication")
def test_rest_and_events_carry_a_user_from_sign_up_to_stats(
    gateway: httpx.Client, alice: journeys.Player, bob: journeys.Player, timeouts: Timeouts
) -> None:
    # REST: gateway -> auth (register, log in); the event user.registered: auth -> users.
    poll_until(
        lambda: journeys.profile(gateway, alice).status_code == 200,
        "users to create alice's profile from auth's user.registered event",
        timeout=timeouts.get("event"),
    )
    # REST: games verifies the JWT against auth's JWKS; the event game.finished: games -> users.
    before = journeys.stats(gateway, alice)
    journeys.play_to_a_win(gateway, alice, bob)
    poll_until(
        lambda: journeys.stats(gateway, alice).get("games_won", 0) > before.get("games_won", 0),
        "users to count alice's win from games' game.finished event",
        timeout=timeouts.get("event"),
        show=lambda _: str(journeys.stats(gateway, alice)),
    )


@pytest.mark.checklist("ms-independent")
def test_each_service_owns_its_database(target: Target) -> None:
    logins = {n: c.database for n, c in target.components.items() if c.database}
    if len(logins) < 2:
        raise CheckFailed(f"expected a database login per service, the target has {list(logins)}")
    for name, db in logins.items():
        own = run_probe(db)
        assert own.ok, f"{name} cannot log in to its own database: {own.detail}"
        for other in {d.dbname for d in logins.values()} - {db.dbname}:
            try:
                with psycopg.connect(
                    host=db.host,
                    port=db.port,
                    user=db.user,
                    dbname=other,
                    password=db.password_file.read_text().strip(),
                    connect_timeout=3,
                ):
                    pass
            except psycopg.OperationalError as exc:
                assert "permission denied" in str(exc), f"unexpected refusal: {exc}"
            else:
                raise CheckFailed(f"{name}'s role {db.user!r} could open database {other!r}")


@pytest.mark.checklist("ms-independent")
def test_each_service_keeps_serving_while_another_is_down(
    control: Any,
    gateway: httpx.Client,
    alice: journeys.Player,
    target: Target,
    timeouts: Timeouts,
) -> None:
    ops = service_operations(target, gateway, alice)
    for down in ops:
        control.stop(down)
        try:
            for other in set(ops) - {down}:
                status = ops[other]()
                assert status == 200, f"with {down} down, {other} answered {status}, expected 200"
        finally:
            control.start(down)
        poll_until(
            lambda down=down: ops[down]() == 200, f"{down} to serve again", timeout=timeouts.healthy
        )


@pytest.mark.checklist("ms-deploy-separately")
def test_redeploying_one_replica_under_load_fails_no_request(
    control: Any, gateway: httpx.Client, alice: journeys.Player, target: Target
) -> None:
    replicas = units(target, "games")
    if len(replicas) < 2:
        raise CheckFailed(f"games needs 2+ replicas to redeploy without downtime: {replicas}")
    others = [u for s in target.service_names() for u in units(target, s) if u != replicas[0]]
    before = {u: control.started(u) for u in others}
    results: list[int] = []
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(base_url=str(gateway.base_url), timeout=5) as client:
            while not stop.is_set():
                try:
                    results.append(client.get("/api/games", headers=alice.headers).status_code)
                except httpx.HTTPError:
                    results.append(0)

    worker = threading.Thread(target=load)
    worker.start()
    try:
        poll_until(lambda: len(results) >= 20, "load to flow before the redeploy", timeout=10)
        control.restart(replicas[0])
        after = len(results)
        poll_until(lambda: len(results) >= after + 20, "load to flow after it", timeout=10)
    finally:
        stop.set()
        worker.join()
    failed = [s for s in results if s != 200]
    assert results and not failed, (
        f"redeploying {replicas[0]}: expected every request to succeed, "
        f"{len(failed)} of {len(results)} failed (statuses {sorted(set(failed))})"
    )
    restarted = [u for u in others if control.started(u) != before[u]]
    assert not restarted, f"redeploying {replicas[0]} restarted {restarted} too"


@pytest.mark.checklist("ms-failures-isolated")
def test_losing_every_games_replica_leaves_the_rest_working(
    control: Any,
    gateway: httpx.Client,
    alice: journeys.Player,
    target: Target,
    timeouts: Timeouts,
) -> None:
    ops = operations(gateway, alice)
    control.stop("games")
    try:
        for _ in range(10):
            assert ops["auth"]() == 200 and ops["users"]() == 200, "auth or users failed"
            started = time.perf_counter()
            status = ops["games"]()
            took = time.perf_counter() - started
            assert status in (502, 503), f"games routes answered {status}, expected 502/503"
            assert took < timeouts.get("fail_fast"), (
                f"the gateway took {took * 1000:.0f} ms to answer for dead games, expected < "
                f"{timeouts.get('fail_fast') * 1000:.0f} ms (no hang)"
            )
        # users asks games over REST through a circuit breaker: it must fail fast, then open.
        for _ in range(8):
            status = gateway.get("/api/users/me/games", headers=alice.headers).status_code
            assert status == 503, f"users' view of games answered {status}, expected 503"
        access = target.component("users").metrics
        assert access is not None, "the target gives no metrics endpoint for users"
        metrics = httpx.get(access.url, headers=access.auth_headers(), timeout=3).text
        assert 'circuit_breaker_state{name="games"} 2.0' in metrics, (
            "expected users' games breaker open (circuit_breaker_state 2), saw: "
            + " ".join(line for line in metrics.splitlines() if "circuit_breaker_state{" in line)
        )
    finally:
        control.start("games")
    poll_until(lambda: ops["games"]() == 200, "games to serve again", timeout=timeouts.healthy)
    poll_until(
        lambda: gateway.get("/api/users/me/games", headers=alice.headers).status_code == 200,
        "users' games breaker to close again",
        timeout=timeouts.healthy,
    )


@pytest.mark.checklist("ms-health-checks")
def test_health_names_the_lost_database_and_recovers(
    control: Any, target: Target, timeouts: Timeouts
) -> None:
    service = target.component("users")
    health, livez = service.probe.url, service.urls["main"] + "/livez"  # type: ignore[union-attr]
    control.stop("postgres")
    try:
        body = poll_until(
            lambda: _health(health),
            "users' /health to fail with the postgres check named",
            timeout=timeouts.get("event"),
            until=lambda r: r[0] == 503 and _failing(r[1]) != [],
            show=str,
        )[1]
        assert any("postgres" in name for name in _failing(body)), f"failing checks: {body}"
        assert httpx.get(livez, timeout=3).status_code == 200, "/livez must not follow the DB"
    finally:
        control.start("postgres")
    poll_until(lambda: _health(health)[0] == 200, "users' /health to pass again", timeout=10)
    assert httpx.get(livez, timeout=3).status_code == 200


def _health(url: str) -> tuple[int, dict[str, Any]]:
    response = httpx.get(url, timeout=3)
    return response.status_code, response.json()


def _failing(body: dict[str, Any]) -> list[str]:
    return [
        name
        for name, results in body.get("checks", {}).items()
        if any(r.get("status") == "fail" for r in results)
    ]
