"""The `database-lost` experiment's actions, with the stack faked: the safety copy is taken
before the drop (no copy, no drop), the ledger's undo restores that copy (never the backup
under test) and names the password's file, never the password; the fault is struck off only
once the marker user is seen back, so a failed restore is rolled back to the copy."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from chaos import actions, context, dr
from chaos.context import ChaosFailed
from grader import backups, safety
from grader.errors import CheckFailed
from stack.ledger import Ledger, Undo
from stack.paths import DataDir

COPY = safety.SafetyCopy("auth", "auth", Path("/safe/auth.dump"), "pg_restore ... auth.dump")
PASSWORD_FILE = Path("/secrets/postgres_password")
TARGET = SimpleNamespace(
    service_databases=lambda: {"auth": "auth"}, units=lambda service: ["auth-1", "auth-2"]
)


class Drill:
    """Records the steps `drop_database` takes, in order."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, copy_fails: bool = False) -> None:
        self.steps: list[str] = []
        self.undo: list[Undo] = []

        def take(target: Any, database: str) -> safety.SafetyCopy:
            if copy_fails:
                raise CheckFailed(f"no safety copy of {database}: pg_dump failed")
            self.steps.append(f"safety copy {database}")
            return COPY

        def record(configuration: Any, target: Any, what: str, undo: list[Undo]) -> Any:
            self.steps.append(f"ledger: {what}")
            self.undo = undo
            return {"fault": "f1", "at": 1.0}

        def drop(target: Any, database: str) -> None:
            self.steps.append(f"drop {database}")

        superuser = SimpleNamespace(host="127.0.0.1", port=5432, user="postgres", password="pw!")
        monkeypatch.setattr(context, "target_of", lambda configuration: TARGET)
        monkeypatch.setattr(safety, "take", take)
        monkeypatch.setattr(safety, "password_file", lambda target: PASSWORD_FILE)
        monkeypatch.setattr(backups, "Superuser", lambda target: superuser)
        monkeypatch.setattr(context, "record_fault", record)
        monkeypatch.setattr(dr, "drop_database", drop)


def test_without_a_safety_copy_nothing_is_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    drill = Drill(monkeypatch, copy_fails=True)
    with pytest.raises(ChaosFailed, match="no safety copy of auth"):
        actions.drop_database("auth", {})
    assert drill.steps == []  # nothing in the ledger, nothing dropped


def test_the_undo_of_the_drop_restores_the_safety_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    drill = Drill(monkeypatch)
    done = actions.drop_database("auth", {})
    assert drill.steps == [
        "safety copy auth",
        "ledger: database auth dropped (safety copy /safe/auth.dump)",
        "drop auth",
    ]
    assert drill.undo == [
        Undo(
            "restore-copy",
            {
                "units": ["auth-1", "auth-2"],
                "database": "auth",
                "owner": "auth",
                "dump": "/safe/auth.dump",
                "host": "127.0.0.1",
                "port": 5432,
                "user": "postgres",
                "password_file": str(PASSWORD_FILE),
            },
        )
    ]
    assert "pw!" not in repr(drill.undo)  # the ledger is a file: it holds no password
    assert done["safety_copy"] == "/safe/auth.dump"


@pytest.mark.parametrize("back", [True, False])
def test_the_fault_is_struck_off_only_once_the_marker_is_back(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, back: bool
) -> None:
    ledger = Ledger(DataDir(tmp_path))
    undo = Undo("restore-copy", {"dump": "/safe/auth.dump"})
    fault = ledger.record("database auth dropped", [undo], 60, watch=False)
    marks = {"marker": {"username": "chaos-1"}, "fault": {"fault": fault.id}}

    @contextlib.contextmanager
    def gateway(target: Any) -> Iterator[None]:
        yield None

    monkeypatch.setattr(context, "target_of", lambda configuration: TARGET)
    monkeypatch.setattr(context, "read_marks", lambda configuration: marks)
    monkeypatch.setattr(context, "gateway_of", gateway)
    monkeypatch.setattr(context, "ledger_of", lambda target: ledger)
    monkeypatch.setattr(dr, "can_log_in", lambda gateway, username: back)

    if back:
        assert actions.retire_dropped_database({})["safety_copy"] == "/safe/auth.dump"
        assert ledger.open_faults() == []
    else:
        with pytest.raises(ChaosFailed, match="rollback puts the safety copy back"):
            actions.retire_dropped_database({})
        assert [f.id for f in ledger.open_faults()] == [fault.id]
