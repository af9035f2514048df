"""Talking to Docker: `docker compose` calls, the engine check, compose.yaml itself."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, cast

import yaml

from stack.errors import RuntimeUnavailable, StackError
from stack.paths import REPO_ROOT
from stack.retention import retention
from stack.topology import topology

COMPOSE_FILE = REPO_ROOT / "compose.yaml"
WAIT_TIMEOUT_S = 300
FIX = (
    "install Docker Engine and its compose plugin (https://docs.docker.com/engine/install/), "
    "or use `python -m stack up --runtime local`"
)


@dataclass(frozen=True)
class ServiceStatus:
    service: str
    component: str | None  # the topology component it implements
    state: str  # running, exited, restarting, ... or "not created"
    health: str  # healthy, unhealthy, starting; "" without a container


def require_engine() -> None:
    """Raise RuntimeUnavailable, in one line with the fix, unless Docker and Compose v2 answer."""
    if shutil.which("docker") is None:
        raise RuntimeUnavailable(f"the compose runtime needs Docker, not on PATH: {FIX}")
    info = run(["docker", "info", "--format", "{{.ServerVersion}}"])
    if info.returncode != 0:
        why = f"`docker info` failed: {_first_line(info.stderr)}"
        raise RuntimeUnavailable(f"no Docker engine answers ({why}): start it, or {FIX}")
    version = run(["docker", "compose", "version", "--short"])
    if version.returncode != 0:
        why = f"`docker compose version` failed: {_first_line(version.stderr)}"
        raise RuntimeUnavailable(f"Docker Compose v2 is missing ({why}): {FIX}")


def compose_env(data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "STACK_DATA_DIR": str(data_dir.resolve()),
        "STACK_TSDB_RETENTION": retention().metrics.tsdb_retention,
    }


@cache
def compose_doc() -> dict[str, Any]:
    return cast(dict[str, Any], yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8")))


def parse_ps(output: str) -> list[dict[str, Any]]:
    """`docker compose ps --format json`: an array before Compose 2.21, one object a line since."""
    text = output.strip()
    if text.startswith("["):
        return list(json.loads(text))
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def interpolate(text: str, environ: Mapping[str, str]) -> str:
    """Compose's variable syntax as compose.yaml uses it: $$, ${VAR}, ${VAR:-default}."""

    def one(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        value = environ.get(m.group(1))
        if value or (value is not None and m.group(2) == "-"):
            return value
        return m.group(3) or ""

    return re.sub(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}", one, text)


def statuses(env: Mapping[str, str]) -> list[ServiceStatus]:
    result = check(compose_cmd(["ps", "--all", "--format", "json"], env), "docker compose ps")
    rows = {row.get("Service"): row for row in parse_ps(result.stdout)}
    owner = {s: c.name for c in topology() for s in c.compose}
    statuses = []
    for s in compose_doc()["services"]:
        row = rows.get(s, {"State": "not created"})
        state, health = str(row.get("State", "")), str(row.get("Health", ""))
        statuses.append(ServiceStatus(s, owner.get(s), state, health))
    return statuses


def compose_cmd(
    args: list[str], env: Mapping[str, str], *, capture: bool = True
) -> subprocess.CompletedProcess[str]:
    base = ["docker", "compose", "--project-directory", str(REPO_ROOT), "-f", str(COMPOSE_FILE)]
    return run([*base, *args], env=env, capture=capture, timeout=WAIT_TIMEOUT_S + 60)


def run(
    argv: list[str],
    *,
    env: Mapping[str, str] | None = None,
    capture: bool = True,
    timeout: float = 30,
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            argv, env=env, capture_output=capture, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError:
        raise RuntimeUnavailable(f"`{argv[0]}` is not installed: {FIX}") from None
    except subprocess.TimeoutExpired:
        raise StackError(f"`{' '.join(argv[:4])} ...` did not finish in {timeout:.0f}s") from None


def check(result: subprocess.CompletedProcess[str], what: str) -> subprocess.CompletedProcess[str]:
    if result.returncode != 0:
        raise StackError(
            f"`{what}` failed (exit {result.returncode}): "
            f"{(result.stderr or '').strip() or 'no error output'}"
        )
    return result


def _first_line(text: str | None) -> str:
    return next((line.strip() for line in (text or "").splitlines() if line.strip()), "no output")
