"""The actions of the chaos experiments (`chaos/experiments/*.json`), called by Chaos Toolkit
as `python` providers: they break things, and repair them.

Every action writes its fault in the stack's fault ledger (stack/ledger.py) *before* injecting
it, with its undo and its maximum duration, so `python -m stack heal` (and the fault's own
expiry) can undo it whatever happens to the runner. `repair` undoes the run's fault through
the ledger; the rollbacks call `heal`. Each marks the run's clock (chaos/context.py).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from chaos import context, dr
from chaos.context import ChaosFailed, Configuration
from grader import backups, journeys
from grader.faults import Faults, admin_token_file, set_faults, units
from stack.ledger import Undo


def kill_service(service: str, configuration: Configuration) -> dict[str, Any]:
    """SIGKILL every unit of `service` and hold it down (a crash nobody restarts)."""
    target = context.target_of(configuration)
    names = target.units(service)
    controls = context.controls_of(target)
    what = f"{service} killed ({', '.join(names)})"
    injected = context.record_fault(configuration, target, what, [Undo("start", {"units": names})])
    for name in names:
        controls.kill(name, hold=True)
    return {**injected, "units": names}


def kill_one_replica(service: str, configuration: Configuration) -> dict[str, Any]:
    """SIGKILL the first replica of `service` and hold it down until the repair: a replica
    restarted within a second would hide whether the gateway moves on to the others."""
    target = context.target_of(configuration)
    name = target.units(service)[0]
    what = f"{name} killed (one replica of {service})"
    injected = context.record_fault(configuration, target, what, [Undo("start", {"units": [name]})])
    context.controls_of(target).kill(name, hold=True)
    return {**injected, "unit": name}


def set_fault_flags(
    service: str, configuration: Configuration, error_rate: float = 0.0, latency_ms: int = 0
) -> dict[str, Any]:
    """Turn on `service`'s fault flags on every unit (chassis `PUT /admin/faults`)."""
    target = context.target_of(configuration)
    off = asdict(Faults())
    token = str(admin_token_file(target))
    undo = [
        Undo("http-put", {"url": f"{url}/admin/faults", "body": off, "token_file": token})
        for url in units(target, service).values()
    ]
    flags = Faults.of({"error_rate": error_rate, "latency_ms": latency_ms})
    named = ", ".join(f"{k}={v}" for k, v in asdict(flags).items() if v)
    injected = context.record_fault(configuration, target, f"{service} fault flags {named}", undo)
    set_faults(target, service, flags)
    return {**injected, "flags": named}


def stop_component(name: str, configuration: Configuration) -> dict[str, Any]:
    """Stop a component (PostgreSQL, RabbitMQ, the log store...) until the repair."""
    target = context.target_of(configuration)
    undo = [Undo("start", {"units": [name]})]
    injected = context.record_fault(configuration, target, f"{name} stopped", undo)
    context.controls_of(target).stop(name)
    return {**injected, "stopped": name}


def backed_up_marker(service: str, configuration: Configuration) -> dict[str, Any]:
    """A user registered through the gateway (the marker), then a verified backup of
    `service`'s database taken after it: what a restore must bring back."""
    target = context.target_of(configuration)
    database = target.service_databases()[service]
    with context.gateway_of(target) as gateway:
        player = journeys.register(gateway, "chaos")
    since = backups.now()
    api = backups.BackupApi(target)
    try:
        backup = backups.wait_verified_since(
            api, [database], since, target.timeouts.get("backup"), after=player.username
        )[database]
    finally:
        api.client.close()
    context.set_mark(configuration, "marker", username=player.username, backup=backup["id"])
    return {"username": player.username, "backup": backup["id"]}


def drop_database(service: str, configuration: Configuration) -> dict[str, Any]:
    """DROP DATABASE of `service` (its data is lost). The ledger's undo is a restore."""
    target = context.target_of(configuration)
    database = target.service_databases()[service]
    undo = [Undo("restore", {"service": service})]
    injected = context.record_fault(configuration, target, f"database {database} dropped", undo)
    dr.drop_database(target, database)
    return {**injected, "dropped": database}


def repair(configuration: Configuration) -> dict[str, Any]:
    """Undo the run's fault (through the ledger, as `heal` would) and mark the repair."""
    target = context.target_of(configuration)
    fault_id = context.read_marks(configuration).get("fault", {}).get("fault")
    if fault_id is None:
        raise ChaosFailed("nothing to repair: no fault was marked on the clock")
    mark = context.set_mark(configuration, "repair")
    done = context.ledger_of(target).heal(context.controls_of(target), fault_id)
    return {"undone": done, "at": mark["at"]}


def heal(configuration: Configuration) -> list[str]:
    """The rollback of every experiment: undo whatever the ledger still holds."""
    target = context.target_of(configuration)
    return context.ledger_of(target).heal(context.controls_of(target))


def damage_next_backup(database: str, configuration: Configuration) -> dict[str, Any]:
    """Arm the backup service's fault flag: the next dump of `database` is damaged after it
    is written (and re-signed, so its sha256 still matches), then a run is requested. Returns
    that run's backup. The ledger's undo clears the flag."""
    target = context.target_of(configuration)
    component = target.component(target.backups.component)
    if component.admin_token_file is None:
        raise ChaosFailed(f"{target.backups.component} has no admin_token_file in the profile")
    url = f"{target.url(target.backups.component, 'main')}/api/v1/backups/faults"
    undo = Undo(
        "http-put",
        {
            "url": url,
            "body": {"corrupt_next_dump": None},
            "token_file": str(component.admin_token_file),
        },
    )
    injected = context.record_fault(
        configuration, target, f"the next backup of {database} damaged", [undo]
    )
    api = backups.BackupApi(target)
    try:
        bad = api.damage_next(database)
    finally:
        api.client.close()
    context.set_mark(configuration, "damaged", backup=bad["id"])
    return {**injected, "backup": bad["id"], "verified": bad.get("verified")}


def play_while_broken(games: int, configuration: Configuration) -> dict[str, Any]:
    """Two players registered and `games` games played through the gateway while the fault
    holds: every one is an event (user.registered, game.finished) that must wait in its
    service's outbox. The players are kept on the clock, for the count afterwards."""
    target = context.target_of(configuration)
    with context.gateway_of(target) as gateway:
        x, o = journeys.register(gateway, "chaos-x"), journeys.register(gateway, "chaos-o")
        for _ in range(games):
            journeys.play_to_a_win(gateway, x, o)
    context.set_mark(
        configuration,
        "played",
        games=games,
        players=[{"username": p.username, "user_id": p.user_id} for p in (x, o)],
    )
    return {"games": games, "players": [x.username, o.username]}
