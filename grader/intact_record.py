"""Records of a running stack for `grader.intact`: each service database's row counts (read as
the target profile's PostgreSQL superuser), markers written through the gateway before the run
and looked for after it, every component's health, and (local runtime) the supervised
processes and the fault ledger, as `python -m stack status --json` reports them.

Nothing here raises for a stack that is down or a profile without a part: what cannot be read
is named in the record's `unrecorded`, and the comparison says so."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
from healthprobe import run_probe
from psycopg import sql

from grader import journeys
from grader.backups import Superuser, tables_of_names
from grader.errors import GraderError
from grader.intact import HEALTHY, Snapshot
from grader.target import Target

GATEWAY = "gateway"
# How long a finished game may take to reach the winner's stats (an event through the broker).
STATS_WAIT_S = 30.0


@dataclass(frozen=True)
class Markers:
    """A user who won a game against another, all through the gateway: rows in auth's, games'
    and users' databases that the grading run must not lose."""

    winner: journeys.Player
    loser: journeys.Player
    game_id: str


def write_markers(target: Target) -> Markers:
    with httpx.Client(base_url=target.url(GATEWAY, "main"), timeout=10) as gateway:
        winner = journeys.register(gateway, "intact-winner")
        loser = journeys.register(gateway, "intact-loser")
        game = journeys.play_to_a_win(gateway, winner, loser)
        deadline = time.monotonic() + STATS_WAIT_S
        while time.monotonic() < deadline and not _won(gateway, winner):
            time.sleep(1)
    return Markers(winner=winner, loser=loser, game_id=str(game["id"]))


def _won(gateway: httpx.Client, player: journeys.Player) -> bool:
    try:
        return int(journeys.stats(gateway, player).get("games_won", 0)) >= 1
    except (GraderError, httpx.HTTPError, ValueError):
        return False


def find_markers(target: Target, markers: Markers) -> dict[str, bool]:
    """Each marker by the service that keeps it -> whether it is there now."""
    winner = markers.winner.username
    names = {
        "auth": f"auth: {winner} logs in",
        "games": f"games: game {markers.game_id} is finished",
        "users": f"users: {winner}'s stats count the won game",
    }
    found = dict.fromkeys(names.values(), False)
    with httpx.Client(base_url=target.url(GATEWAY, "main"), timeout=10) as gateway:
        try:
            player = journeys.login(gateway, markers.winner)  # a fresh token: runs are long
        except (GraderError, httpx.HTTPError):
            return found
        found[names["auth"]] = True
        try:
            game = gateway.get(f"/api/games/{markers.game_id}", headers=player.headers)
            found[names["games"]] = (
                game.status_code == 200 and game.json().get("status") == "finished"
            )
        except (httpx.HTTPError, ValueError):
            pass
        found[names["users"]] = _won(gateway, player)
    return found


def row_counts(target: Target) -> dict[str, dict[str, int]]:
    superuser = Superuser(target)
    counts: dict[str, dict[str, int]] = {}
    for database in sorted(set(target.service_databases().values())):
        with superuser.connect(database) as conn:
            tables = {}
            for table in tables_of_names(conn):
                schema, name = table.split(".", 1)
                query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, name))
                row = conn.execute(query).fetchone()
                tables[table] = int(row[0]) if row else 0
            counts[database] = tables
    return counts


def stack_status(target: Target) -> dict[str, Any]:
    """`python -m stack status --json` of the target's local stack (exit 3: something is
    unhealthy or a fault is open, which is what is being recorded)."""
    control = target.control
    assert control.project_dir is not None and control.data_dir is not None
    done = subprocess.run(
        [sys.executable, "-m", "stack", "status", "--json"],
        cwd=control.project_dir,
        env={**os.environ, "STACK_DATA_DIR": str(control.data_dir)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode not in (0, 3):
        raise GraderError(f"`python -m stack status --json`: {done.stderr.strip()[-300:]}")
    facts: dict[str, Any] = json.loads(done.stdout)
    return facts


def record_status(target: Target, snapshot: Snapshot) -> None:
    if target.control.driver == "local":
        facts = stack_status(target)
        for component in facts.get("components", []):
            health = component.get("health")
            snapshot.health[component["name"]] = (
                HEALTHY if health and health["ok"] else (health or {}).get("detail", "no health")
            )
            snapshot.processes[component["name"]] = str(component["state"])
        snapshot.faults = [f"{f['what']} ({f['id']})" for f in facts.get("open_faults", [])]
        return
    snapshot.unrecorded.append(
        f"processes and faults (control driver {target.control.driver!r}, not local)"
    )
    for name, component in target.components.items():
        result = run_probe(component.probe)
        snapshot.health[name] = HEALTHY if result.ok else result.detail


def take(target: Target, markers: Markers | None) -> Snapshot:
    """A record of the stack now; `markers` are looked for when given."""
    snapshot = Snapshot(taken_at=datetime.now(UTC))
    if "postgres" in target.components:
        try:
            snapshot.rows = row_counts(target)
        except (GraderError, psycopg.Error) as exc:
            snapshot.unrecorded.append(f"row counts ({type(exc).__name__}: {exc})")
    else:
        snapshot.unrecorded.append("row counts (the target has no postgres component)")
    if markers is not None:
        snapshot.markers = find_markers(target, markers)
    try:
        record_status(target, snapshot)
    except (GraderError, OSError, ValueError, subprocess.SubprocessError) as exc:
        snapshot.unrecorded.append(f"health and processes ({type(exc).__name__}: {exc})")
    return snapshot


def before(target: Target) -> tuple[Snapshot, Markers | None]:
    """Write the markers (when the target has a gateway), then take the first record."""
    markers, why = None, ""
    if GATEWAY in target.components:
        try:
            markers = write_markers(target)
        except (GraderError, httpx.HTTPError) as exc:
            why = f"markers (writing them failed: {type(exc).__name__}: {exc})"
    else:
        why = "markers (the target has no gateway)"
    snapshot = take(target, markers)
    if why:
        snapshot.unrecorded.append(why)
    return snapshot, markers
