"""The mutated copy: the repository's files as they are now (committed or not, ignored files
left out), in a scratch directory, with one patch applied.

The copy is made from `git ls-files --cached --others --exclude-standard`, so it holds exactly
what a clean checkout plus the working tree's changes would, and never `.venv/`, `.stack/`,
`.nox/`, `reports/` or another ignored file. The patch is applied with `git apply`, which
works in a directory that is not a git repository (git's own documentation: "as a
replacement for GNU patch").
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from mutants.errors import MutantsError, StalePatch


def tracked_files(repo: Path) -> list[str]:
    """The repository's files, relative: tracked (and present) plus untracked, not ignored."""
    done = subprocess.run(
        ["git", "-C", str(repo), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        raise MutantsError(
            f"`git ls-files` failed in {repo}: {done.stderr.decode(errors='replace').strip()}; "
            "the mutation suite copies a git checkout"
        )
    names = sorted({n for n in done.stdout.decode().split("\0") if n})
    return [n for n in names if os.path.lexists(repo / n)]  # deleted, not yet committed


def copy_repository(repo: Path, into: Path) -> int:
    """Copy the repository's files into `into` (created); returns how many."""
    names = tracked_files(repo)
    for name in names:
        source, target = repo / name, into / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(os.readlink(source))
        else:
            shutil.copy2(source, target)
    return len(names)


def apply_patch(copy: Path, patch: Path) -> None:
    """`git apply` the patch in the copy; one that does not apply raises StalePatch."""
    for check in (["--check"], []):
        done = subprocess.run(
            ["git", "apply", *check, "--whitespace=nowarn", str(patch.resolve())],
            cwd=copy,
            # Never find a repository above the copy (a workdir inside a checkout): git would
            # then apply the paths relative to that repository's root.
            env={**os.environ, "GIT_CEILING_DIRECTORIES": str(copy.parent)},
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise StalePatch(
                f"{patch.name} no longer applies: {done.stderr.strip()[-600:]}; "
                "redo the mistake on the current code and rewrite the patch"
            )


# The deepest socket a stack puts in its data directory (`<copy>/.stack`), and the limit of a
# unix socket's path (sun_path, 108 bytes with its NUL): PostgreSQL and supervisord refuse
# longer ones, so a copy's path is kept short.
DEEPEST_SOCKET = ".stack/data/postgres/socket/.s.PGSQL.65535"
SOCKET_PATH_MAX = 107


def new_copy_dir(workdir: Path, mutant_id: str) -> Path:
    """A fresh directory for one copy, named after the mutant (cut short, see DEEPEST_SOCKET).
    World-traversable (0755): the local runtime runs PostgreSQL as the `postgres` user, which
    must reach its data directory inside."""
    workdir = workdir.resolve()
    room = SOCKET_PATH_MAX - len(f"{workdir}/") - len(f"-abcdefgh/{DEEPEST_SOCKET}")
    if room < 1:
        raise MutantsError(
            f"--workdir {workdir} is too long for the unix sockets a stack makes inside it "
            f"({SOCKET_PATH_MAX} bytes at most); choose a shorter one, e.g. /tmp/mutants"
        )
    workdir.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=f"{mutant_id[: min(room, 20)]}-", dir=workdir))
    path.chmod(0o755)
    return path



def remove_copy(copy: Path) -> None:
    shutil.rmtree(copy, ignore_errors=True)
    if copy.exists():
        raise MutantsError(f"could not delete the mutated copy {copy}; delete it by hand")
