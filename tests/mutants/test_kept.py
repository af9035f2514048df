"""`python -m mutants up ID` / `down ID` with the stack faked: the copy is recorded, its grader
environment written, and everything removed on `down` or when `up` fails."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mutants import kept
from mutants.catalog import load_catalog
from mutants.errors import MutantsError, StackDidNotComeUp
from mutants.processes import Finished

MUTANT = "auth-health-checks-nothing"


@pytest.fixture
def stack_calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    calls: dict[str, Any] = {"up": [], "down": [], "fail": False}

    def up(self: Any, *, timeout: float, log: Path) -> Finished:
        calls["up"].append(self.copy)
        if calls["fail"]:
            raise StackDidNotComeUp("`python -m stack up` exited with 1")
        return Finished(0, 1.0, log)

    def down(self: Any, *, log: Path, timeout: float = 1) -> list[str]:
        calls["down"].append(self.copy)
        return []

    monkeypatch.setattr(kept.MutatedStack, "up", up)
    monkeypatch.setattr(kept.MutatedStack, "down", down)
    return calls


def test_up_keeps_a_patched_copy_and_down_removes_it(
    workdir: Path, stack_calls: dict[str, Any]
) -> None:
    target = kept.up(load_catalog(), MUTANT, offset=22300, workdir=workdir, timeout=60)
    (copy,) = stack_calls["up"]
    assert target == copy / ".stack" / "target.yaml"
    assert "health_checks=[]" in (copy / "services/auth/auth_service/main.py").read_text()
    grader_env = (copy / kept.GRADER_ENV_FILE).read_text()
    assert "STACK_PORT_GATEWAY=30380\n" in grader_env and "PYTHONPATH=" in grader_env
    with pytest.raises(MutantsError, match="is up already"):
        kept.up(load_catalog(), MUTANT, offset=22300, workdir=workdir, timeout=60)
    assert kept.down(MUTANT, workdir=workdir) == []
    assert stack_calls["down"] == [copy] and not copy.exists()
    assert not kept.state_file(workdir, MUTANT).exists()
    with pytest.raises(MutantsError, match=f"no mutant {MUTANT} is up"):
        kept.down(MUTANT, workdir=workdir)


def test_an_up_that_fails_leaves_nothing(workdir: Path, stack_calls: dict[str, Any]) -> None:
    stack_calls["fail"] = True
    with pytest.raises(StackDidNotComeUp):
        kept.up(load_catalog(), MUTANT, offset=22300, workdir=workdir, timeout=60)
    assert stack_calls["down"] == stack_calls["up"]
    assert list(workdir.iterdir()) == []


def test_a_bad_offset_is_refused_before_anything_is_copied(workdir: Path) -> None:
    with pytest.raises(MutantsError, match="--offset 300"):
        kept.up(load_catalog(), MUTANT, offset=300, workdir=workdir, timeout=60)
    assert list(workdir.iterdir()) == []
