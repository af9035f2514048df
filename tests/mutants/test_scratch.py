"""The mutated copy: the repository's files as they are (committed or not), never ignored ones,
with one patch applied or refused as stale."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mutants.errors import MutantsError, StalePatch
from mutants.scratch import apply_patch, copy_repository, new_copy_dir, remove_copy, tracked_files
from stack.paths import REPO_ROOT


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), "-c", "user.email=t@t", "-c", "user.name=t", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "svc").mkdir(parents=True)
    (root / ".gitignore").write_text(".venv/\n.stack/\nreports/\n")
    (root / "svc" / "app.py").write_text("TIMEOUT = 2\n")
    (root / "gone.txt").write_text("deleted later\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    (root / "svc" / "app.py").write_text("TIMEOUT = 3\n")  # changed, not committed
    (root / "new.txt").write_text("untracked\n")
    (root / "gone.txt").unlink()  # deleted, not committed
    for ignored in (".venv/bin/python", ".stack/target.yaml", "reports/grading.json"):
        (root / ignored).parent.mkdir(parents=True, exist_ok=True)
        (root / ignored).write_text("ignored\n")
    return root


def test_the_copy_holds_the_working_tree_without_ignored_or_deleted_files(
    repo: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    assert copy_repository(repo, copy) == 3
    files = sorted(str(p.relative_to(copy)) for p in copy.rglob("*") if p.is_file())
    assert files == [".gitignore", "new.txt", "svc/app.py"]
    assert (copy / "svc" / "app.py").read_text() == "TIMEOUT = 3\n"


def test_the_repository_copy_leaves_out_venv_stack_nox_and_reports() -> None:
    names = tracked_files(REPO_ROOT)
    assert "mutants/catalog.yaml" in names
    leaked = [n for n in names if n.split("/")[0] in (".venv", ".stack", ".nox", "reports")]
    assert leaked == []


def test_a_patch_applies_in_the_copy_and_a_stale_one_is_refused(
    repo: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    copy_repository(repo, copy)
    git(repo, "add", "svc/app.py")  # the diff starts from the working tree's TIMEOUT = 3
    (repo / "svc" / "app.py").write_text("TIMEOUT = None\n")
    patch = tmp_path / "no-timeout.patch"

    patch.write_text(git(repo, "diff", "svc/app.py"))
    apply_patch(copy, patch)
    assert (copy / "svc" / "app.py").read_text() == "TIMEOUT = None\n"
    with pytest.raises(StalePatch, match=r"no-timeout\.patch no longer applies"
):
        apply_patch(copy, patch)  # already applied: its context is gone


def test_a_stale_patch_changes_nothing(repo: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    copy_repository(repo, copy)
    patch = tmp_path / "two-files.patch"
    (repo / "new.txt").write_text("changed\n")
    git(repo, "add", "new.txt")
    (repo / "svc" / "app.py").write_text("TIMEOUT = 9\n")
    patch.write_text(git(repo, "diff", "HEAD"))  # new.txt applies, svc/app.py does not
    (copy / "svc" / "app.py").write_text("TIMEOUT = 4\n")
    with pytest.raises(StalePatch):
        apply_patch(copy, patch)
    assert (copy / "new.txt").read_text() == "untracked\n"


def test_a_copy_dir_is_fresh_reachable_and_removed(workdir: Path) -> None:
    first = new_copy_dir(workdir / "work", "m-one")
    second = new_copy_dir(workdir / "work", "m-one")
    assert first != second and first.name.startswith("m-one-")
    assert first.stat().st_mode & 0o777 == 0o755
    (first / "a" / "b").mkdir(parents=True)
    remove_copy(first)
    assert not first.exists()


def test_a_copy_dir_keeps_the_sockets_of_its_stack_short_enough(
    tmp_path: Path, workdir: Path
) -> None:
    long_id = "a-mutant-with-a-very-long-name-indeed-yes"
    path = new_copy_dir(workdir, long_id)
    assert path.name.startswith(long_id[:20] + "-")
    assert len(f"{path}/.stack/data/postgres/socket/.s.PGSQL.65535") <= 107
    with pytest.raises(MutantsError, match=r"--workdir .* is too long"):
        new_copy_dir(tmp_path / ("x" * 80), long_id)
