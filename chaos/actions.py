"""The actions of the chaos experiments (`chaos/experiments/*.json`), called by Chaos Toolkit
as `python` providers: they break things, and repair them.

Every action writes its fault in the stack's fault ledger (stack/ledger.py) *before* injecting
it, with its undo and its maximum duration, so `python -m stack heal` (and the fault's own
expiry) can undo it whatever happens to the runner. `repair` undoes the run's fault through
the ledger; the rollbacks call `heal`. Each marks the run's clock (chaos/context.py).
"""

from __future__ import annotations

import shutil
import time
from dataclasses import asdict
from typing import Any

from chaos import context, cpu, disk, dr, log_events
from chaos.context import ChaosFailed, Configuration
from grader import backups, journeys, safety
from grader.errors import CheckFailed
from grader.faults import Faults, admin_token_file, set_faults, units
from stack.ledger import Fault, Undo, restore_service

# `stack up` and four restores take about 15 s; a recovery is never cut short by the expiry
SERVER_LOST_MAX_S = 900.0


def kill_service(service: str, configuration: Configuration, mark: str = "fault") -> dict[str, Any]:
    """SIGKILL every unit of `service` (a service's replicas, or one component such as
    Prometheus) and hold it down: a crash nobody restarts. `mark`: the clock mark of this
    fault, when it is the experiment's second."""
    target = context.target_of(configuration)
    names = target.units(service)
    controls = context.controls_of(target)
    what = f"{service} killed ({', '.join(names)})"
    undo = [Undo("start", {"units": names})]
    injected = context.record_fault(configuration, target, what, undo, mark)
    for name in names:
        controls.kill(name, hold=True)
    return {**injected, **_held(configuration, mark, injected), "units": names}


def _held(configuration: Configuration, mark: str, injected: dict[str, Any]) -> dict[str, Any]:
    """The fault's clock mark again, once the kill holds: supervisord may have started the
    unit again in between, and stopping that new process waits for its graceful shutdown
    (10 s for Alertmanager once). The outage the alerts time begins now, not at the SIGKILL."""
    return {"at": context.set_mark(configuration, mark, fault=injected["fault"])["at"]}


def kill_one_replica(service: str, configuration: Configuration) -> dict[str, Any]:
    """SIGKILL the first replica of `service` and hold it down until the repair: a replica
    restarted within a second would hide whether the gateway moves on to the others."""
    target = context.target_of(configuration)
    name = target.units(service)[0]
    what = f"{name} killed (one replica of {service})"
    injected = context.record_fault(configuration, target, what, [Undo("start", {"units": [name]})])
    context.controls_of(target).kill(name, hold=True)
    return {**injected, **_held(configuration, "fault", injected), "unit": name}


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


def backed_up_marker(
    service: str, configuration: Configuration, every_database: bool = False
) -> dict[str, Any]:
    """A user registered through the gateway (the marker, in `service`'s database), then a
    verified backup taken after it of that database, or of every service's database: what a
    restore must bring back."""
    target = context.target_of(configuration)
    owned = target.service_databases()
    databases = list(owned.values()) if every_database else [owned[service]]
    with context.gateway_of(target) as gateway:
        player = journeys.register(gateway, "chaos")
    since = backups.now()
    api = backups.BackupApi(target)
    try:
        fresh = backups.wait_verified_since(
            api, databases, since, target.timeouts.get("backup"), after=player.username
        )
    finally:
        api.client.close()
    backup = fresh[owned[service]]["id"]
    context.set_mark(configuration, "marker", username=player.username, backup=backup)
    return {"username": player.username, "backups": {db: b["id"] for db, b in fresh.items()}}


def drop_database(service: str, configuration: Configuration) -> dict[str, Any]:
    """DROP DATABASE of `service` (its data is lost), once a safety copy of it is taken (no
    copy, no drop). The ledger's undo puts that copy back, never a backup under test: the
    recovery (`restore_from_backup`) is the drill's, and a recovery that fails is rolled back
    to the data as it was."""
    target = context.target_of(configuration)
    database = target.service_databases()[service]
    try:
        copy = safety.take(target, database)
    except CheckFailed as exc:
        raise ChaosFailed(str(exc)) from exc
    superuser = backups.Superuser(target)
    undo = Undo(
        "restore-copy",
        {
            "units": target.units(service),
            "database": database,
            "owner": copy.owner,
            "dump": str(copy.path),
            "host": superuser.host,
            "port": superuser.port,
            "user": superuser.user,
            "password_file": str(safety.password_file(target)),
        },
    )
    what = f"database {database} dropped (safety copy {copy.path})"
    injected = context.record_fault(configuration, target, what, [undo])
    dr.drop_database(target, database)
    return {**injected, "dropped": database, "safety_copy": str(copy.path)}


def restore_from_backup(service: str, configuration: Configuration) -> dict[str, Any]:
    """The recovery under test, marked as the repair: `python -m stack restore SERVICE` (the
    newest verified backup), on the local runtime or compose. The fault stays in the ledger
    until the data is seen back (`retire_dropped_database`): a failed recovery is rolled back."""
    target = context.target_of(configuration)
    done_at = context.set_mark(configuration, "repair", repair=True)
    restore_service(service, context.controls_of(target))
    return {"restored": service, "at": done_at["at"]}


def retire_dropped_database(configuration: Configuration) -> dict[str, Any]:
    """The recovery held: strike the fault off the ledger without undoing it, so no rollback
    puts the safety copy over the restored data. Only when the marker user logs in now, seen
    here: Chaos Toolkit runs this action even after the probe before it failed."""
    fault = _strike_off_once_back(
        configuration,
        not_back="cannot log in after the restore: the rollback puts the safety copy back",
        gone="the dropped database's fault left the ledger before the restore held",
    )
    return {"kept": "the restored database", "safety_copy": fault.undo[0].args["dump"]}


def _strike_off_once_back(configuration: Configuration, *, not_back: str, gone: str) -> Fault:
    """Strike the drill's fault off the ledger without undoing it, once its marker user logs
    in (seen here); otherwise fail (`not_back`, after the user's name), leaving the fault for
    the rollback. `gone`: the failure when the fault is no longer in the ledger."""
    target = context.target_of(configuration)
    marks = context.read_marks(configuration)
    username = marks["marker"]["username"]
    with context.gateway_of(target) as gateway:
        back = dr.can_log_in(gateway, username)
    if not back:
        raise ChaosFailed(f"{username} {not_back}")
    struck = context.ledger_of(target).forget(marks["fault"]["fault"])
    if not struck:
        raise ChaosFailed(gone)
    return struck[0]


def lose_database_server(component: str, configuration: Configuration) -> dict[str, Any]:
    """Stop PostgreSQL (`component`) and move its data directory away: the server and its
    disk are lost (local runtime). The ledger's undo puts the old directory back; a recovery
    that holds strikes the fault off instead (`retire_lost_server`)."""
    target = context.target_of(configuration)
    live = dr.server_directory(target, component)
    moved = live.with_name(f"{live.name}.lost")
    if moved.exists():
        raise ChaosFailed(f"{moved} is a server lost by an earlier drill: `heal` puts it back")
    undo = [Undo("put-back", {"moved": str(moved), "live": str(live), "unit": component})]
    what = f"the database server lost ({live} moved away)"
    injected = context.record_fault(configuration, target, what, undo, max_s=SERVER_LOST_MAX_S)
    context.controls_of(target).stop(component)
    live.rename(moved)
    return {**injected, "moved": str(moved)}


def rebuild_database_server(configuration: Configuration) -> dict[str, Any]:
    """The disaster-recovery procedure (docs/runbooks/postgres-lost.md): `python -m stack up`
    builds a new empty server with every role and database, then `python -m stack restore
    SERVICE` brings back each service's database from its newest verified backup. Marked as
    the repair; the fault stays in the ledger until the data is seen back, so a recovery that
    fails is rolled back to the old server."""
    target = context.target_of(configuration)
    done_at = context.set_mark(configuration, "repair", repair=True)
    took: dict[str, float] = {}
    for step in [("up",), *(("restore", s) for s in target.service_databases())]:
        started = time.monotonic()
        dr.stack_command(target, *step, timeout=600)
        took[" ".join(step)] = round(time.monotonic() - started, 1)
    return {"seconds": took, "at": done_at["at"]}


def retire_lost_server(configuration: Configuration) -> dict[str, Any]:
    """The recovery held: strike the fault off the ledger without undoing it, and delete the
    old data directory (the lost disk), so no rollback brings the old server back. Only when
    the marker user logs in now, seen here: Chaos Toolkit runs this action even after the
    probe before it failed, and a recovery that lost the marker must be rolled back."""
    fault = _strike_off_once_back(
        configuration,
        not_back="cannot log in on the rebuilt server: the lost one is kept, and the rollback "
        "puts it back",
        gone="the lost server's fault left the ledger before the recovery held",
    )
    moved = fault.undo[0].args["moved"]
    shutil.rmtree(moved, ignore_errors=True)
    return {"deleted": moved}


def repair(
    configuration: Configuration, fault: str = "fault", mark: str = "repair"
) -> dict[str, Any]:
    """Undo the fault marked `fault` on the clock (through the ledger, as `heal` would) and
    mark the repair as `mark`."""
    target = context.target_of(configuration)
    fault_id = context.read_marks(configuration).get(fault, {}).get("fault")
    if fault_id is None:
        raise ChaosFailed(f"nothing to repair: no `{fault}` fault was marked on the clock")
    done_at = context.set_mark(configuration, mark, repair=True)
    done = context.ledger_of(target).heal(context.controls_of(target), fault_id)
    return {"undone": done, "at": done_at["at"]}


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


def play_games(games: int, configuration: Configuration) -> dict[str, Any]:
    """Two players registered and `games` games played through the gateway: every one is an
    event (user.registered, game.finished) that goes through its service's outbox, just before
    or during a fault that must not lose it. The players are kept on the clock, for the count
    afterwards."""
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


def fill_backup_disk(database: str, configuration: Configuration) -> dict[str, Any]:
    """Put the backup directory of `database` on a full filesystem (chaos/disk.py), then
    request a backup run. What the directory held, the newest verified backup and the run's
    outcome go on the clock, for the probes to compare."""
    target = context.target_of(configuration)
    directory = disk.backup_directory(target, database)
    api = backups.BackupApi(target)
    try:
        verified = [b["id"] for b in api.backups(database) if b.get("verified")]
        before = disk.listing(directory)
        undo = [Undo("unmount", {"path": str(directory)})]
        what = f"the backup filesystem of {database} full ({directory})"
        injected = context.record_fault(configuration, target, what, undo)
        free = disk.mount_full(directory)
        outcome = api.run_now()
    finally:
        api.client.close()
    context.set_mark(
        configuration,
        "ran",
        failed=outcome["failed"],
        files=before,
        newest_verified=verified[-1] if verified else None,
    )
    return {**injected, "free_bytes": free, "failed": outcome["failed"]}


def hog_cpu(seconds: int, configuration: Configuration) -> dict[str, Any]:
    """`stress-ng` on every core for `seconds` (its own timeout: the hog ends by itself), at
    the default priority, as a runaway process would be. Installed from Debian if missing."""
    target = context.target_of(configuration)
    program = cpu.stress_ng()
    pidfile = cpu.pidfile(target)
    undo = [Undo("kill-process", {"pidfile": str(pidfile), "program": cpu.PROGRAM})]
    what = f"CPU hog: stress-ng on every core for {seconds} s"
    injected = context.record_fault(configuration, target, what, undo, max_s=seconds + 60.0)
    pid = cpu.start_hog(program, seconds, pidfile)
    return {**injected, "pid": pid}


def send_marked_requests(count: int, configuration: Configuration) -> dict[str, Any]:
    """`count` requests through the gateway, each with its own X-Request-ID (a marker): each
    one leaves a line in the app log of the service and in the gateway's access log, which
    must reach the log store exactly once however the pipeline is broken meanwhile."""
    target = context.target_of(configuration)
    with context.gateway_of(target) as gateway:
        sent = log_events.send(gateway, target, count)
    context.set_mark(configuration, "sent", markers=sent)
    return {"sent": len(sent), "first": sent[0], "last": sent[-1]}


def log_baseline(configuration: Configuration) -> dict[str, Any]:
    """One marked request before any fault, found in the log store: how many lines of each
    dataset one request makes on this stack (what every marker is counted against)."""
    target = context.target_of(configuration)
    with context.gateway_of(target) as gateway:
        marker = log_events.send(gateway, target, 1)[0]
    counts = log_events.wait_counts(target, [marker], wanted=None, timeout=60.0)[marker]
    context.set_mark(configuration, "baseline", marker=marker, counts=counts)
    return {"marker": marker, "counts": counts}
