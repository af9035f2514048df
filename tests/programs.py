"""Running the real command-line tools the tests validate configs with (promtool, amtool,
nginx): skip with the package to install when a tool is missing, fail with its output."""

from __future__ import annotations

import shutil
import subprocess

import pytest


def needs(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        pytest.skip(f"`{binary}` is not installed (its Debian package: see docs/local-runtime.md)")
    return path


def run(argv: list[str], timeout: float = 120) -> str:
    """Its stdout; a failed run fails the test with the command and everything it printed."""
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"{' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout
