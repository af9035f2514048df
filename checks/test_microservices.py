"""Microservices (the course's module 3): independence, communication, separate deployment, isolated
failures, health checks. Everything goes through the gateway, as a user's requests do, and is
judged by what the grader observes (responses, timings, database logins, where rows land),
never by a service's word. The services, their requests and which one is replicated come from
the target profile (`services`, `microservices`); a check per service is one line in the
report, so `pytest checks -k games` runs what concerns games.
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

from grader import backups, journeys
from grader.errors import CheckFailed
from grader.polling import poll_until
from grader.profile_sections import ServiceRequest
from grader.target import Target, Timeouts

SLOW_S = 1.0  # an answer slower than this, while one replica hangs, waited on the hung one


@pytest.fixture(scope="module")
def gateway(target: Target) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=target.url(target.microservices.gateway, "main"), timeout=30) as c:
        yield c


@pytest.fixture(scope="module")
def alice_account(gateway: httpx.Client, timeouts: Timeouts) -> journeys.Player:
    """A user whose profile exists (users made it from auth's event) before any check runs."""
    player = journeys.register(gateway, "alice")
    poll_until(
        lambda: journeys.profile(gateway, player).status_code,
        "users to create alice's profile from auth's user.registered event",
        timeout=timeouts.get("event"),
        until=lambda status: status == 200,
        show=lambda status: f"GET /api/users/me answered {status}",
    )
    return player


@pytest.fixture(scope="module")
def bob_account(gateway: httpx.Client) -> journeys.Player:
    return journeys.register(gateway, "bob")


# Logged in again for each check: access tokens expire after minutes, and on a slow machine
# this module's checks together take longer than that.
@pytest.fixture
def alice(gateway: httpx.Client, alice_account: journeys.Player) -> journeys.Player:
    return journeys.login(gateway, alice_account)


@pytest.fixture
def bob(gateway: httpx.Client, bob_account: journeys.Player) -> journeys.Player:
    return journeys.login(gateway, bob_account)


Call = Callable[[], tuple[int, float]]


def timed(gateway: httpx.Client, request: ServiceRequest, player: journeys.Player) -> Call:
    """The request as a call answering (HTTP status or 0 for no answer, seconds taken)."""

    def call() -> tuple[int, float]:
        started = time.perf_counter()
        try:
            status = journeys.send(gateway, request, player).status_code
        except httpx.HTTPError:
            status = 0
        return status, time.perf_counter() - started

    return call


def requests_of(
    target: Target, gateway: httpx.Client, player: journeys.Player
) -> dict[str, tuple[ServiceRequest, Call]]:
    """Each service's request (`microservices.requests`) and the call that sends it."""
    found = {}
    for service in target.service_names():
        request = target.service_request(service)
        found[service] = (request, timed(gateway, request, player))
    return found


def all_serving(
    calls: dict[str, tuple[ServiceRequest, Call]],
    timeout: float,
    dependent: ServiceRequest | None = None,
    player: journeys.Player | None = None,
    gateway: httpx.Client | None = None,
    *,
    rounds: int = 4,
) -> None:
    """Steady state: every service answers its request as expected, `rounds` times in a row,
    so that every replica behind the gateway's round robin has served it (its caches, such as
    the token keys, are warm); and, after an isolation drill, the dependent request succeeds
    again (its breaker closed)."""

    def answers() -> dict[str, list[int]]:
        return {s: [call()[0] for _ in range(rounds)] for s, (_, call) in calls.items()}

    poll_until(
        answers,
        "every service to answer its request",
        timeout=timeout,
        until=lambda seen: all(set(seen[s]) == {r.expect_status} for s, (r, _) in calls.items()),
        show=str,
    )
    if dependent is not None and player is not None and gateway is not None:
        poll_until(
            lambda: journeys.send(gateway, dependent, player).status_code,
            f"{dependent.path} to succeed again (the caller's breaker closed)",
            timeout=timeout,
            until=lambda status: status < 400,
            show=lambda status: f"HTTP {status}",
        )


def unaffected_problems(
    calls: dict[str, tuple[ServiceRequest, Call]], skip: str, bound: float, what: str
) -> list[str]:
    """The other services' requests, each answered as expected within `bound` seconds."""
    problems = []
    for other, (request, call) in calls.items():
        if other == skip:
            continue
        status, took = call()
        if status != request.expect_status or took > bound:
            problems.append(
                f"with {what}, {other} ({request.method} {request.path}) answered {status} in "
                f"{took:.2f} s, expected {request.expect_status} within {bound:g} s"
            )
    return problems


# ---- independence -----------------------------------------------------------------------


@pytest.mark.checklist("ms-independent")
def test_service_login_opens_only_its_own_database(service: str, target: Target) -> None:
    """The service's database role logs in to its own database and is refused every other."""
    logins = {n: c.database for n, c in target.components.items() if c.database}
    mine = [target.components[u].database for u in target.units(service)]
    login = next((db for db in mine if db is not None), None)
    if login is None:
        raise CheckFailed(
            f"the target gives no database login for {service} (`components.<unit>.database`)"
        )
    own = run_probe(login)
    assert own.ok, f"{service} cannot log in to its own database {login.dbname}: {own.detail}"
    for other in sorted({d.dbname for d in logins.values() if d} - {login.dbname}):
        try:
            with psycopg.connect(
                host=login.host,
                port=login.port,
                user=login.user,
                dbname=other,
                password=login.password_file.read_text().strip(),
                connect_timeout=3,
            ):
                pass
        except psycopg.OperationalError as exc:
            assert "permission denied" in str(exc), f"unexpected refusal: {exc}"
        else:
            raise CheckFailed(f"{service}'s role {login.user!r} could open database {other!r}")


@pytest.mark.checklist("ms-independent")
def test_each_service_keeps_its_data_in_its_own_database(
    target: Target, alice: journeys.Player, evidence: Any
) -> None:
    """No two services share a database, and Alice's name, registered through the gateway, is
    in the own database of every service that keeps users (`microservices.user_data`): found
    by the grader as PostgreSQL's superuser, not by asking the services."""
    databases = target.service_databases()
    shared = target.shared_databases()
    assert not shared, "expected each service in its own database; shared: " + "; ".join(
        f"{db} holds {' and '.join(names)}" for db, names in shared.items()
    )
    superuser = backups.Superuser(target)
    where: dict[str, list[str]] = {}
    for service, dbname in databases.items():
        with superuser.connect(dbname) as conn:
            where[service] = backups.contains(conn, alice.username)
    evidence.add(f"tables holding {alice.username}, per service database", where)
    missing = [s for s in target.microservices.user_data if not where.get(s)]
    unknown = [s for s in target.microservices.user_data if s not in databases]
    assert not unknown, f"`microservices.user_data` names {unknown}, not services of the target"
    assert not missing, (
        f"expected {alice.username} (registered through the gateway) in the own database of "
        f"{missing}; found in: {[s for s, tables in where.items() if tables]}"
    )


@pytest.fixture
def units_ready(target: Target, timeouts: Timeouts) -> None:
    """Every unit of every service answers /health with 200 before one is stopped: a service
    that verifies auth's tokens is ready only once it holds auth's keys, so what this check
    sees does not depend on which checks ran before (or on a restart just before it)."""
    for service in target.service_names():
        for unit in target.units(service):
            probe = target.components[unit].probe
            if probe.kind != "http":
                continue
            health = str(probe.url)  # type: ignore[union-attr]
            poll_until(
                lambda health=health: _health(health)[0],  # type: ignore[misc]
                f"{unit}'s /health to answer 200 (ready)",
                timeout=timeouts.healthy,
                until=lambda code: code == 200,
                show=lambda code: f"HTTP {code}",
            )


@pytest.mark.checklist("ms-independent")
def test_others_keep_serving_while_one_is_down(
    service: str,
    control: Any,
    gateway: httpx.Client,
    alice: journeys.Player,
    target: Target,
    timeouts: Timeouts,
    units_ready: None,
) -> None:
    """With each service stopped in turn, every other service answers its request (alice
    logged in, her profile made before) as expected and in time; auth stopped included, as
    the services verify tokens with the keys they hold."""
    calls = requests_of(target, gateway, alice)
    all_serving(calls, timeouts.healthy)
    control.stop(service)
    try:
        problems = unaffected_problems(
            calls, service, timeouts.get("unaffected"), f"{service} stopped"
        )
    finally:
        control.start(service)
    assert not problems, "\n".join(problems)
    all_serving(calls, timeouts.healthy)


# ---- communication ----------------------------------------------------------------------


@pytest.mark.checklist("ms-communication")
def test_rest_and_events_carry_a_user_from_sign_up_to_stats(
    gateway: httpx.Client, alice: journeys.Player, bob: journeys.Player, timeouts: Timeouts
) -> None:
    # REST: gateway -> auth (register, log in); the event user.registered: auth -> users
    # (alice's profile exists: the fixture waited for it).
    # REST: games verifies the JWT against auth's JWKS; the event game.finished: games -> users.
    before = journeys.stats(gateway, alice)
    journeys.play_to_a_win(gateway, alice, bob)
    poll_until(
        lambda: journeys.stats(gateway, alice).get("games_won", 0) > before.get("games_won", 0),
        "users to count alice's win from games' game.finished event",
        timeout=timeouts.get("event"),
        show=lambda _: str(journeys.stats(gateway, alice)),
    )


@pytest.mark.checklist("ms-communication")
def test_a_token_edited_after_auth_signed_it_is_refused(
    target: Target,
    gateway: httpx.Client,
    alice: journeys.Player,
    bob: journeys.Player,
    evidence: Any,
) -> None:
    """Every service that needs a login refuses alice's token with bob's claims written into
    it (the signature no longer matches), at every replica: a service that reads a token's
    claims without checking auth's signature serves anyone as anyone."""
    edited = journeys.with_claims_of(alice, bob)
    answers: dict[str, list[int]] = {}
    for service in target.service_names():
        request = target.service_request(service)
        if not request.authenticated:
            continue
        call = timed(gateway, request, edited)
        # Twice per replica: the gateway's round robin reaches each of them.
        answers[service] = [call()[0] for _ in range(2 * len(target.units(service)))]
    evidence.add("answers to the edited token, per service", answers)
    assert answers, "no service request of `microservices.requests` is sent logged in"
    accepted = {s: codes for s, codes in answers.items() if set(codes) - {401, 403}}
    assert not accepted, (
        "expected 401 or 403 for a token whose claims were edited after auth signed it; "
        f"answered: {accepted}"
    )


# ---- separate deployment ----------------------------------------------------------------


@pytest.mark.checklist("ms-deploy-separately")
def test_redeploying_each_replica_under_load_fails_no_request(
    control: Any, gateway: httpx.Client, alice: journeys.Player, target: Target, evidence: Any
) -> None:
    """Every replica of the replicated service is redeployed in turn while its request runs in
    a loop: no request fails, and no other component restarts."""
    service = target.microservices.replicated_service
    replicas = target.units(service)
    if len(replicas) < 2:
        raise CheckFailed(f"{service} needs 2+ replicas to redeploy without downtime: {replicas}")
    request = target.service_request(service)
    others = [u for s in target.service_names() for u in target.units(s) if u not in replicas]
    before = {u: control.started(u) for u in others}
    results: list[int] = []
    first: list[str] = []  # the first failed answers, for the report
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(base_url=str(gateway.base_url), timeout=30) as client:
            while not stop.is_set():
                try:
                    answer = journeys.send(client, request, alice)
                    results.append(answer.status_code)
                    if answer.status_code != request.expect_status and len(first) < 3:
                        first.append(f"{answer.status_code} {answer.text[:200]}")
                except httpx.HTTPError as exc:
                    results.append(0)
                    if len(first) < 3:
                        first.append(f"{type(exc).__name__}: {exc}")

    worker = threading.Thread(target=load)
    worker.start()
    try:
        poll_until(lambda: len(results) >= 20, "load to flow before the redeploys", timeout=10)
        for replica in replicas:
            # Each replica takes its share before and after its redeploy: a rolling deploy
            # moves on only once the gateway sends traffic to the new process.
            gets_traffic(target, replica, request.path, "before its redeploy")
            control.restart(replica)
            gets_traffic(target, replica, request.path, "after its redeploy")
    finally:
        stop.set()
        worker.join()
    failed = [s for s in results if s != request.expect_status]
    evidence.add("requests during the redeploys", {"sent": len(results), "failed": len(failed)})
    assert results and not failed, (
        f"redeploying {', '.join(replicas)} one at a time: expected every request to answer "
        f"{request.expect_status}, {len(failed)} of {len(results)} did not "
        f"(statuses {sorted(set(failed))}; the first: {first})"
    )
    restarted = [u for u in others if control.started(u) != before[u]]
    assert not restarted, f"redeploying {service} restarted {restarted} too"


def served(target: Target, unit: str, path: str) -> float:
    """How many requests for `path` the unit counted (`monitoring.requests_metric` samples
    with a label equal to the path, read from the unit's own metrics endpoint)."""
    access = target.component(unit).metrics
    if access is None:
        raise CheckFailed(f"the target gives no metrics endpoint for {unit}")
    text = httpx.get(access.url, headers=access.auth_headers(), timeout=5).text
    name = target.monitoring.requests_metric
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name + "{") and f'="{path}"' in line
    )


def gets_traffic(target: Target, unit: str, path: str, when: str) -> None:
    start = served(target, unit, path)
    poll_until(
        lambda: served(target, unit, path),
        f"the gateway to send {unit} its share of {path} {when} (its own request counter)",
        timeout=target.timeouts.healthy,
        interval=0.5,
        until=lambda now: now >= start + 5,
        show=lambda now: f"{now - start:g} more requests",
    )


# ---- isolated failures ------------------------------------------------------------------


def dependent_problems(
    target: Target, gateway: httpx.Client, player: journeys.Player, evidence: Any = None
) -> list[str]:
    """The request another service answers by calling the isolated one: each answer comes
    with its expected failure status within `dependent` seconds, and after a few calls within
    `fail_fast` (a breaker or a short timeout, never requests piling up). `dependent` is
    shorter than the gateway's read timeout: a caller without a timeout of its own is cut off
    by the gateway instead, and its answer comes too late."""
    request = target.microservices.dependent_request
    if request is None:
        return []
    call = timed(gateway, request, player)
    answers = [call() for _ in range(10)]
    if evidence is not None:
        shown_ms = [[status, round(took * 1000)] for status, took in answers]
        evidence.add(f"{request.path} (status, ms)", shown_ms)
    bound, fast = target.timeouts.get("dependent"), target.timeouts.get("fail_fast")
    shown = ", ".join(f"{s} in {t:.2f} s" for s, t in answers)
    problems = [
        f"{request.path}: answered {status} in {took:.2f} s, expected {request.expect_status} "
        f"within {bound:g} s (timeouts.dependent: the caller's own timeout on the call)"
        for status, took in answers
        if status != request.expect_status or took > bound
    ]
    if any(took > fast for _, took in answers[-3:]):
        problems.append(
            f"{request.path}: still slow after 7 calls (expected the last 3 within {fast:g} s, "
            f"a breaker or a short timeout): {shown}"
        )
    return problems


def contained_problems(
    target: Target,
    calls: dict[str, tuple[ServiceRequest, Call]],
    gateway: httpx.Client,
    player: journeys.Player,
    what: str,
) -> list[str]:
    """While the isolated service is down or hung: the others answer as usual, and the one
    that depends on it fails fast."""
    service = target.microservices.isolated_service
    bound = target.timeouts.get("unaffected")
    return [
        *unaffected_problems(calls, service, bound, what),
        *dependent_problems(target, gateway, player),
    ]


def recovered(
    problems: list[str],
    target: Target,
    calls: dict[str, tuple[ServiceRequest, Call]],
    gateway: httpx.Client,
    player: journeys.Player,
) -> None:
    """The verdict, then the steady state again (every service, and the dependent request)."""
    assert not problems, "\n".join(problems)
    dependent = target.microservices.dependent_request
    all_serving(calls, target.timeouts.healthy, dependent, player, gateway)


@pytest.mark.checklist("ms-failures-isolated")
def test_a_dead_service_fails_fast_and_the_rest_keep_working(
    control: Any, gateway: httpx.Client, alice: journeys.Player, target: Target, evidence: Any
) -> None:
    """Every unit of the isolated service is killed and held down: its routes answer 502/503
    at once, the other services answer as usual, and the service that depends on it fails
    fast."""
    service = target.microservices.isolated_service
    calls = requests_of(target, gateway, alice)
    all_serving(calls, target.timeouts.healthy)
    _, call = calls[service]
    fast = target.timeouts.get("fail_fast")
    problems: list[str] = []
    control.stop(service)
    try:
        answers = [call() for _ in range(10)]
        evidence.add(
            f"{service} routes while dead (status, ms)",
            [[status, round(took * 1000, 1)] for status, took in answers],
        )
        problems += [
            f"{service}'s route answered {status} in {took * 1000:.0f} ms, expected 502/503 "
            f"within {fast * 1000:.0f} ms (no hang)"
            for status, took in answers
            if status not in (502, 503) or took > fast
        ]
        problems += contained_problems(target, calls, gateway, alice, f"{service} dead")
    finally:
        control.start(service)
    recovered(problems, target, calls, gateway, alice)


@pytest.mark.checklist("ms-failures-isolated")
def test_a_hung_service_is_timed_out_and_a_hung_replica_avoided(
    control: Any, gateway: httpx.Client, alice: journeys.Player, target: Target, evidence: Any
) -> None:
    """A hang (SIGSTOP: connections accepted, nothing answered) is what timeouts are for.
    One hung replica: every request still succeeds, within `hung_upstream` seconds, and few
    wait on the hung one (the gateway stops sending it traffic). Every unit hung: the route
    answers a 5xx within `hung_upstream`, the other services do not notice, and the service
    that depends on it fails fast."""
    service = target.microservices.isolated_service
    calls = requests_of(target, gateway, alice)
    all_serving(calls, target.timeouts.healthy)
    request, call = calls[service]
    bound = target.timeouts.get("hung_upstream")
    units = target.units(service)
    problems: list[str] = []
    if len(units) > 1:
        control.pause(units[0])
        try:
            answers = []
            started = time.monotonic()
            while time.monotonic() - started < bound:
                answers.append(call())
        finally:
            control.resume(units[0])
        slow = [round(took, 2) for _, took in answers if took > SLOW_S]
        failed = [(status, round(took, 2)) for status, took in answers if status != 200]
        evidence.add(f"{units[0]} hung: answers, slow ones (s)", [len(answers), slow])
        problems += [
            f"with {units[0]} hung, {request.path} answered {status} after {took} s, "
            f"expected {request.expect_status} from another replica"
            for status, took in failed
        ]
        if any(took > bound for took in slow):
            problems.append(f"with {units[0]} hung, an answer took {max(slow)} s (> {bound:g} s)")
        if len(slow) * 4 > len(answers):
            problems.append(
                f"with {units[0]} hung, {len(slow)} of {len(answers)} answers took over "
                f"{SLOW_S:g} s: the gateway keeps sending requests to the hung replica "
                "(no passive health check)"
            )
        all_serving(calls, target.timeouts.healthy)
    control.pause(service)
    try:
        what = f"{service} hung"
        problems += unaffected_problems(calls, service, target.timeouts.get("unaffected"), what)
        # The dependent request before the hung service's own route: once the gateway has
        # timed the hung replicas out it marks them down and answers for them at once, and
        # then nothing would show whether the caller has a timeout and a breaker of its own.
        problems += dependent_problems(target, gateway, alice, evidence)
        status, took = call()
        evidence.add(f"{what}: its route (status, s)", [status, round(took, 2)])
        if status < 500 or took > bound:
            problems.append(
                f"with {what}, {request.path} answered {status} after {took:.1f} s, "
                f"expected a 5xx within {bound:g} s (an upstream timeout)"
            )
    finally:
        control.resume(service)
    recovered(problems, target, calls, gateway, alice)


# ---- health checks ----------------------------------------------------------------------


@pytest.mark.checklist("ms-health-checks")
def test_health_names_the_lost_database_and_recovers(
    control: Any, target: Target, timeouts: Timeouts
) -> None:
    """With the database stopped, every service's /health fails naming it while its liveness
    path stays 200; both pass again once it is back."""
    units = {
        unit: target.components[unit]
        for service in target.service_names()
        for unit in target.units(service)
        if target.components[unit].probe.kind == "http"
    }
    liveness = target.microservices.liveness_path
    control.stop("postgres")
    try:
        for unit, component in units.items():
            health = str(component.probe.url)  # type: ignore[union-attr]
            body = poll_until(
                lambda health=health: _health(health),  # type: ignore[misc]
                f"{unit}'s /health to fail with its database check named",
                timeout=timeouts.get("event"),
                until=lambda r: r[0] == 503 and _failing(r[1]) != [],
                show=str,
            )[1]
            assert any("postgres" in name for name in _failing(body)), (
                f"{unit}: failing checks {_failing(body)}, expected one naming postgres"
            )
            if liveness is not None:
                livez = component.urls["main"] + liveness
                status = httpx.get(livez, timeout=3).status_code
                assert status == 200, f"{unit}: {livez} answered {status}, must not follow the DB"
    finally:
        control.start("postgres")
    for unit, component in units.items():
        health = str(component.probe.url)  # type: ignore[union-attr]
        poll_until(
            lambda health=health: _health(health)[0] == 200,  # type: ignore[misc]
            f"{unit}'s /health to pass again",
            timeout=timeouts.healthy,
        )


def _health(url: str) -> tuple[int, dict[str, Any]]:
    response = httpx.get(url, timeout=3)
    try:
        return response.status_code, response.json()
    except ValueError:
        return response.status_code, {"body": response.text[:200]}


def _failing(body: dict[str, Any]) -> list[str]:
    return [
        name
        for name, results in body.get("checks", {}).items()
        if isinstance(results, list) and any(r.get("status") == "fail" for r in results)
    ]
