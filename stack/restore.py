"""`python -m stack restore <service> [--backup ID|latest] [--force]`, for both runtimes.

Stop the service (every unit), restore its database from a verified backup in one transaction,
check every table's row count and checksum against the backup's manifest, start the service
(it runs its Alembic migrations at start, so a backup from an older schema is brought up to
date) and wait until it is healthy. The dump is looked for in the backup directory, then in
the off-box copy (a lost backup disk is one of the failures this recovers from).

One flow (`run`), two ways to carry out its steps. Both run the backup service's own restore
command (`python -m backup_service.recover`): `LocalSteps` as a process beside the stack,
`ComposeSteps` inside the backup container with `docker compose exec`. The launcher never
imports the service's code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from stack.errors import StackError
from stack.runtimes.local.runtime import LocalRuntime
from stack.topology import Topology

Say = Callable[[str], None]
# Runs `docker compose <args>` and returns the finished process (tests pass a fake).
ComposeRunner = Callable[[list[str]], subprocess.CompletedProcess[str]]
BACKUP_SERVICE = "backup"  # the service that holds the backups and the restore code
RECOVER_MODULE = "backup_service.recover"  # its command line: python -m <this>


@dataclass(frozen=True)
class Restored:
    service: str
    database: str
    backup_id: str
    source: str
    tables: int
    rows: int
    rpo_s: float
    rto_s: float


class Steps(Protocol):
    def choose(self, database: str, wanted: str, *, force: bool) -> dict[str, Any]:
        """The chosen backup's manifest plus `source` (where its dump is)."""

    def stop(self, service: str) -> None: ...

    def restore(self, database: str, backup_id: str) -> dict[str, int]:
        """Restore and compare with the manifest; returns {"tables": n, "rows": n}."""

    def start(self, service: str) -> None:
        """Start and wait until healthy."""


def database_of(topology: Topology, service: str) -> str:
    spec = topology.resolve(service)[0].service
    if spec is None or spec.database is None:
        owners = sorted(
            {c.replica_of or c.name for c in topology if c.service and c.service.database}
        )
        raise StackError(f"{service!r} has no database to restore; services with one: {owners}")
    return spec.database


def run(
    steps: Steps,
    topology: Topology,
    service: str,
    *,
    backup: str = "latest",
    force: bool = False,
    say: Say = lambda line: None,
) -> Restored:
    started = time.monotonic()
    database = database_of(topology, service)
    chosen = steps.choose(database, backup, force=force)
    say(f"backup {chosen['id']} taken {chosen['created_at']} from {chosen['source']}")
    steps.stop(service)
    say(f"stopped {service}")
    try:
        counted = steps.restore(database, str(chosen["id"]))
    except StackError as exc:
        raise StackError(f"{exc}; {service} is left stopped") from exc
    say(f"restored database {database} (pg_restore --single-transaction)")
    say(
        f"verified: {counted['tables']} tables, {counted['rows']} rows, "
        "checksums equal the manifest"
    )
    steps.start(service)
    say(f"started {service}: migrations ran at its start, /health passes")
    created = datetime.fromisoformat(str(chosen["created_at"]).replace("Z", "+00:00"))
    return Restored(
        service=service,
        database=database,
        backup_id=str(chosen["id"]),
        source=str(chosen["source"]),
        tables=counted["tables"],
        rows=counted["rows"],
        rpo_s=(datetime.now(UTC) - created).total_seconds(),
        rto_s=time.monotonic() - started,
    )


class RecoverSteps:
    """`choose` and `restore` through the backup service's own command line,
    `python -m backup_service.recover`, which prints one JSON object (its reason on stderr and
    a non-zero exit on failure). Where it runs is the runtime's business (`_run_recover`)."""

    def _run_recover(self, args: list[str]) -> subprocess.CompletedProcess[str]:
        raise NotImplementedError

    def _recover(self, *args: str) -> dict[str, Any]:
        done = self._run_recover(list(args))
        if done.returncode != 0:
            why = (done.stderr or "").strip() or "no error output"
            raise StackError(f"`python -m {RECOVER_MODULE} {' '.join(args)}` failed: {why[-800:]}")
        answer: dict[str, Any] = json.loads(done.stdout)
        return answer

    def choose(self, database: str, wanted: str, *, force: bool) -> dict[str, Any]:
        return self._recover("choose", database, wanted, *(["--force"] if force else []))

    def restore(self, database: str, backup_id: str) -> dict[str, int]:
        return {k: int(v) for k, v in self._recover("restore", database, backup_id).items()}


class LocalSteps(RecoverSteps):
    """Runs the recover command as a process of its own, with the environment the local
    runtime gives the backup service (its backup directories, policy file and superuser)."""

    def __init__(self, runtime: LocalRuntime) -> None:
        self.runtime = runtime
        self.env = {**os.environ, **runtime.program_env(BACKUP_SERVICE)}

    def _run_recover(self, args: list[str]) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", RECOVER_MODULE, *args]
        return subprocess.run(command, env=self.env, capture_output=True, text=True, check=False)

    def stop(self, service: str) -> None:
        self.runtime.stop(service)

    def start(self, service: str) -> None:
        self.runtime.start(service)


class ComposeSteps(RecoverSteps):
    """Runs the recover command inside the backup container (the backup volumes and the
    database servers are reachable only from the compose network)."""

    def __init__(self, topology: Topology, runner: ComposeRunner, *, wait_s: int) -> None:
        self.topology, self.runner, self.wait_s = topology, runner, wait_s

    def services(self, service: str) -> list[str]:
        return [s for c in self.topology.resolve(service) for s in c.compose]

    def _compose(self, args: list[str]) -> str:
        done = self.runner(args)
        if done.returncode != 0:
            why = (done.stderr or "").strip() or "no error output"
            raise StackError(f"`docker compose {' '.join(args)}` failed: {why[-800:]}")
        return done.stdout

    def _run_recover(self, args: list[str]) -> subprocess.CompletedProcess[str]:
        return self.runner(["exec", "-T", BACKUP_SERVICE, "python", "-m", RECOVER_MODULE, *args])

    def stop(self, service: str) -> None:
        self._compose(["stop", *self.services(service)])

    def start(self, service: str) -> None:
        wait = ["up", "-d", "--wait", "--wait-timeout", str(self.wait_s), "--no-deps"]
        self._compose([*wait, *self.services(service)])


def restore(
    runtime: LocalRuntime,
    service: str,
    *,
    backup: str = "latest",
    force: bool = False,
    say: Say = lambda line: None,
) -> Restored:
    """The local runtime's restore."""
    steps = LocalSteps(runtime)
    return run(steps, runtime.topology, service, backup=backup, force=force, say=say)


def restore_compose(
    data_dir: Path,
    service: str,
    *,
    backup: str = "latest",
    force: bool = False,
    say: Say = lambda line: None,
) -> Restored:
    """The compose runtime's restore, through `docker compose` (a Docker engine is needed)."""
    from stack.runtimes import compose
    from stack.runtimes.compose.docker import compose_cmd

    compose.require_engine()
    env = compose.compose_env(data_dir)
    steps = ComposeSteps(
        compose.standard_topology(),
        lambda args: compose_cmd(args, env),
        wait_s=compose.WAIT_TIMEOUT_S,
    )
    return run(steps, steps.topology, service, backup=backup, force=force, say=say)
