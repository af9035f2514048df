"""The DR drill's order of steps, with the stack faked: a safety copy before the drop, no drop
without one, and a rollback from that copy (never `stack restore`, which would take the same
backup under test again)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from chaos import dr
from grader import safety
from grader.errors import CheckFailed

BACKUP = {"id": "auth/20260101T000000Z", "database": "auth"}
COPY = safety.SafetyCopy("auth", "auth", Path("/safe/auth.dump"), "pg_restore ... auth.dump")


class Stack:
    """Records every step the drill takes; `restore_fails` makes `stack restore` fail as it
    does when the newest backup holds no rows."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, copy_fails: bool = False) -> None:
        self.steps: list[str] = []
        self.logged_in = True

        def take(target: Any, database: str) -> safety.SafetyCopy:
            if copy_fails:
                raise CheckFailed(f"no safety copy of {database}: pg_dump failed")
            self.steps.append(f"safety copy {database}")
            return COPY

        def drop(target: Any, database: str) -> None:
            self.steps.append(f"drop {database}")
            self.logged_in = False

        def command(target: Any, *args: str, timeout: float = 300) -> str:
            self.steps.append(" ".join(args))
            if args[0] == "restore":
                raise CheckFailed("`python -m stack restore auth` failed: 0 rows")
            return ""

        def put_back(target: Any, copy: safety.SafetyCopy) -> None:
            self.steps.append(f"put back {copy.path}")

        monkeypatch.setattr(safety, "take", take)
        monkeypatch.setattr(safety, "put_back", put_back)
        monkeypatch.setattr(dr, "drop_database", drop)
        monkeypatch.setattr(dr, "stack_command", command)
        monkeypatch.setattr(dr, "can_log_in", lambda gateway, username: self.logged_in)


TARGET = SimpleNamespace(timeouts=SimpleNamespace(get=lambda name: 1.0))
PLAYER = SimpleNamespace(username="backup-later-1")


def test_a_failed_restore_is_rolled_back_from_the_safety_copy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stack = Stack(monkeypatch)
    with pytest.raises(CheckFailed, match=r"auth is back as it was .*/safe/auth.dump.*0 rows"):
        dr.run(TARGET, None, PLAYER, BACKUP, service="auth")  # type: ignore[arg-type]
    assert stack.steps == [
        "safety copy auth",
        "drop auth",
        "restore auth --backup latest",
        "stop auth",
        "put back /safe/auth.dump",
        "start auth",
    ]


def test_without_a_safety_copy_nothing_is_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    stack = Stack(monkeypatch, copy_fails=True)
    with pytest.raises(CheckFailed, match="no safety copy of auth"):
        dr.run(TARGET, None, PLAYER, BACKUP, service="auth")  # type: ignore[arg-type]
    assert stack.steps == []


def test_a_failed_rollback_names_the_command_that_puts_the_copy_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    Stack(monkeypatch)

    def put_back(target: Any, copy: safety.SafetyCopy) -> None:
        raise CheckFailed("pg_restore: connection refused")

    monkeypatch.setattr(safety, "put_back", put_back)
    with pytest.raises(CheckFailed, match=r"rollback failed too.*pg_restore \.\.\. auth\.dump"):
        dr.run(TARGET, None, PLAYER, BACKUP, service="auth")  # type: ignore[arg-type]
