"""A short working directory for mutated copies: pytest's tmp_path is too long for the unix
sockets a stack makes inside a copy (mutants/scratch.py, DEEPEST_SOCKET)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="mt-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)
