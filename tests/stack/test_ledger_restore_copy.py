"""The ledger's `restore-copy` undo against a real PostgreSQL (the local runtime's, on ports of
this suite's own): a dropped database comes back from the safety copy the drill dumped, with
its owner and without PUBLIC's connect right, the service's units stopped around it; doing it
again restores the same copy again; a copy that will not restore leaves the fault in the
ledger with the command that puts it back by hand, and no password in the message."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stack import pg_copy
from stack.errors import StackError
from stack.ledger import Ledger, Undo
from stack.paths import DataDir
from stack.runtimes.local.runtime import LocalRuntime
from stack.topology import build, offset_ports

pytestmark = pytest.mark.integration

OFFSET = 4600  # this suite's own ports: no other suite's stack, nor the default one, uses them
DATABASE, OWNER = "auth", "auth"  # a database and owner role `up` creates
UNITS = ["auth-1", "auth-2"]


class Controls:
    """The runtime's verbs, recorded (no service runs here: only PostgreSQL does)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def stop(self, unit: str) -> None:
        self.calls.append(f"stop {unit}")

    def start(self, unit: str) -> None:
        self.calls.append(f"start {unit}")


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    rt = LocalRuntime(
        DataDir(tmp_path_factory.mktemp("stack")), build(environ=offset_ports(OFFSET))
    )
    rt.up(only=["postgres"])
    yield rt
    rt.down(purge=True)


@pytest.fixture(scope="module")
def login(runtime: LocalRuntime) -> pg_copy.Login:
    password = (runtime.data.secrets / "postgres_password").read_text().strip()
    return pg_copy.Login("127.0.0.1", runtime.topology.get("postgres").port, "postgres", password)


def undo_args(runtime: LocalRuntime, login: pg_copy.Login, dump: Path) -> dict[str, Any]:
    return {
        "units": UNITS,
        "database": DATABASE,
        "owner": OWNER,
        "dump": str(dump),
        "host": login.host,
        "port": login.port,
        "user": login.user,
        "password_file": str(runtime.data.secrets / "postgres_password"),
    }


def names(login: pg_copy.Login) -> list[str]:
    with login.connect(DATABASE) as conn:
        return [str(r[0]) for r in conn.execute("SELECT name FROM players ORDER BY name")]


def write(login: pg_copy.Login, *players: str) -> None:
    with login.connect(DATABASE) as conn:
        conn.execute("SET ROLE auth")  # the service's tables are its own role's
        conn.execute("CREATE TABLE IF NOT EXISTS players (name text PRIMARY KEY)")
        for player in players:
            conn.execute("INSERT INTO players VALUES (%s)", (player,))


def drop(login: pg_copy.Login) -> None:
    with login.connect("postgres") as conn:
        conn.execute(f"DROP DATABASE {DATABASE} WITH (FORCE)")


def shape(login: pg_copy.Login) -> tuple[str, str, bool]:
    """The database's owner, its table's owner, and whether PUBLIC may connect."""
    with login.connect("postgres") as conn:
        row = conn.execute(
            "SELECT pg_get_userbyid(datdba), has_database_privilege('public', datname, "
            "'CONNECT') FROM pg_database WHERE datname = %s",
            (DATABASE,),
        ).fetchone()
    assert row is not None, f"{DATABASE} is not there"
    with login.connect(DATABASE) as conn:
        table = conn.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'players'")
        table_owner = table.fetchone()
    assert table_owner is not None
    return str(row[0]), str(table_owner[0]), bool(row[1])


def test_heal_puts_the_dropped_database_back_from_its_safety_copy(
    runtime: LocalRuntime, login: pg_copy.Login, tmp_path: Path
) -> None:
    write(login, "before-the-drill")
    dump = tmp_path / "safety" / "auth.dump"
    pg_copy.dump(login, DATABASE, dump)
    ledger, controls = Ledger(DataDir(tmp_path / "data")), Controls()
    step = Undo("restore-copy", undo_args(runtime, login, dump))
    fault = ledger.record("database auth dropped", [step], 60, watch=False)
    drop(login)

    assert ledger.heal(controls) == [f"undone: database auth dropped ({fault.id})"]
    assert names(login) == ["before-the-drill"]
    assert shape(login) == (OWNER, OWNER, False)
    assert controls.calls == [*(f"stop {u}" for u in UNITS), *(f"start {u}" for u in UNITS)]
    assert ledger.open_faults() == []

    # Again (a second `heal` racing the first, a rollback after a repair): the same copy,
    # whatever was written since is gone again.
    write(login, "after-the-restore")
    ledger.record("database auth dropped", [step], 60, watch=False)
    ledger.heal(controls)
    assert names(login) == ["before-the-drill"]
    assert shape(login) == (OWNER, OWNER, False)


def test_a_copy_that_does_not_restore_stays_in_the_ledger_with_the_command_by_hand(
    runtime: LocalRuntime, login: pg_copy.Login, tmp_path: Path
) -> None:
    broken = tmp_path / "auth.dump"
    broken.write_bytes(b"PGDMP not really a dump")
    ledger, controls = Ledger(DataDir(tmp_path / "data")), Controls()
    fault = ledger.record(
        "database auth dropped",
        [Undo("restore-copy", undo_args(runtime, login, broken))],
        60,
        watch=False,
    )

    with pytest.raises(
        StackError, match=r"did not restore.*by hand with: PGPASSWORD=\$\(cat "
    ) as e:
        ledger.heal(controls)
    assert login.password not in str(e.value)
    assert [f.id for f in ledger.open_faults()] == [fault.id]
    assert controls.calls == [f"stop {u}" for u in UNITS]  # not started on a half-made database

    with pytest.raises(StackError, match="is gone: nothing to put back"):
        pg_copy.put_back(login, DATABASE, OWNER, tmp_path / "never-taken.dump")


def test_no_copy_is_made_of_a_database_that_is_not_there(
    login: pg_copy.Login, tmp_path: Path
) -> None:
    with pytest.raises(StackError, match="pg_dump of no_such_db failed"):
        pg_copy.dump(login, "no_such_db", tmp_path / "none.dump")


def test_the_graders_safety_copy_goes_through_the_same_put_back(
    runtime: LocalRuntime, login: pg_copy.Login, tmp_path: Path
) -> None:
    from grader import safety
    from grader.target import load_target

    target = load_target(runtime.data.target_file)
    write(login, "graded")
    copy = safety.take(target, DATABASE, directory=tmp_path)
    assert copy.owner == OWNER and copy.path.stat().st_size > 0
    assert copy.restore_command.startswith("PGPASSWORD=$(cat ")
    assert login.password not in copy.restore_command
    drop(login)

    safety.put_back(target, copy)
    assert "graded" in names(login)
    assert shape(login) == (OWNER, OWNER, False)

    # the command the report prints for a person does the same by hand
    drop(login)
    done = subprocess.run(["bash", "-c", copy.restore_command], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "graded" in names(login)
    assert shape(login) == (OWNER, OWNER, False)
