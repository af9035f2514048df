"""The mutated stack's environment: the copy's code wins over the editable installs of this
checkout, the grader keeps its own code, and the ports move by the offset."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mutants.errors import MutantsError
from mutants.mutated_stack import MutatedStack, check_offset, package_dirs
from mutants.scratch import copy_repository
from stack.paths import REPO_ROOT


def fake_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "copy"
    for package in ("services/auth", "services/chassis", "standins/logstore", "libs/healthprobe"):
        (copy / package).mkdir(parents=True)
        (copy / package / "pyproject.toml").write_text("[project]\n")
    (copy / "services" / "README.md").write_text("not a package\n")
    return copy


def paths(env: dict[str, str]) -> list[str]:
    return env["PYTHONPATH"].split(os.pathsep)


def test_the_stack_runs_the_copy_first_at_the_offset_with_its_own_data(tmp_path: Path) -> None:
    copy = fake_copy(tmp_path)
    env = MutatedStack(copy, 22300).stack_env()
    assert paths(env)[:5] == [
        str(copy),
        str(copy / "libs/healthprobe"),
        str(copy / "services/auth"),
        str(copy / "services/chassis"),
        str(copy / "standins/logstore"),
    ]
    assert env["STACK_DATA_DIR"] == str(copy / ".stack")
    assert env["STACK_PORT_GATEWAY"] == "30380" and env["STACK_PORT_RABBITMQ_METRICS"] == "31492"
    assert env["STACK_CACHE_DIR"].endswith(".stack-cache")


def test_the_grader_gets_the_copys_services_but_never_its_stack_grader_or_libs(
    tmp_path: Path,
) -> None:
    copy = fake_copy(tmp_path)
    env = MutatedStack(copy, 22300).grader_env()
    copied = [p for p in paths(env) if p.startswith(str(copy))]
    assert copied == [
        str(copy / "services/auth"),
        str(copy / "services/chassis"),
        str(copy / "standins/logstore"),
    ]
    assert env["STACK_PORT_POSTGRES"] == "27732"
    assert "STACK_DATA_DIR" not in env and "STACK_TARGET" not in env


def test_package_dirs_lists_folders_with_a_pyproject(tmp_path: Path) -> None:
    copy = fake_copy(tmp_path)
    assert [p.name for p in package_dirs(copy)] == ["healthprobe", "auth", "chassis", "logstore"]


@pytest.mark.parametrize("offset", [0, -5, 300, 30000])
def test_an_offset_on_the_default_ports_or_past_the_ephemeral_range_is_refused(
    offset: int,
) -> None:
    with pytest.raises(MutantsError, match=f"--offset {offset}"):
        check_offset(offset)


def test_in_the_copys_environment_python_imports_the_copys_services(tmp_path: Path) -> None:
    """The proof, without a stack: the editable installs of this checkout lose to the copy."""
    copy = tmp_path / "copy"
    copy_repository(REPO_ROOT, copy)
    env = MutatedStack(copy, 22300).stack_env()
    modules = "auth_service, chassis, logstore, healthprobe, stack"
    probe = f"import {modules}; print('\\n'.join(m.__file__ for m in ({modules})))"

    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=copy, env=env, capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    files = done.stdout.split()
    assert len(files) == 5
    assert all(f.startswith(str(copy) + "/") for f in files), files
