"""Every mutant's patch applies cleanly to the committed repository (HEAD): a change to the
code that a patch touches makes the patch stale, and this test says which to rewrite."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from mutants.catalog import load_catalog
from stack.paths import REPO_ROOT

CATALOG = load_catalog()


@pytest.fixture(scope="module")
def head(tmp_path_factory: pytest.TempPathFactory) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "archive", "--format=tar", "HEAD"],
        capture_output=True,
        check=True,
    ).stdout
    root = tmp_path_factory.mktemp("head")
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(root, filter="data")
    return root


@pytest.mark.parametrize("mutant", CATALOG.mutants, ids=CATALOG.ids)
def test_the_patch_applies_to_head(head: Path, mutant) -> None:  # type: ignore[no-untyped-def]
    done = subprocess.run(
        ["git", "apply", "--check", str(CATALOG.patch_path(mutant))],
        cwd=head,
        env={**os.environ, "GIT_CEILING_DIRECTORIES": str(head.parent)},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, f"{mutant.patch} is stale: {done.stderr.strip()}"
