"""The compose runtime: the stack on Docker with real images (`compose.yaml`, docs/compose.md).

`up` renders what compose mounts (render.py), then runs `docker compose up -d --wait`.
Without a Docker engine, every entry point raises RuntimeUnavailable.
tests/test_compose_file.py holds compose.yaml to the topology.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from stack import secrets as secrets_mod
from stack.errors import ComponentFailed, StackError
from stack.files import write_if_changed
from stack.paths import REPO_ROOT, DataDir
from stack.runtimes.compose.docker import (
    COMPOSE_FILE,
    WAIT_TIMEOUT_S,
    ServiceStatus,
    check,
    compose_cmd,
    compose_doc,
    compose_env,
    interpolate,
    parse_ps,
    require_engine,
    run,
    statuses,
)
from stack.runtimes.compose.render import (
    STATIC_TARGET,
    compose_dir,
    published_ports,
    render,
    standard_topology,
    static_target_text,
    target_profile,
    write_static_target,
)
from stack.topology import Topology, topology

__all__ = [
    "COMPOSE_FILE",
    "STATIC_TARGET",
    "WAIT_TIMEOUT_S",
    "Controls",
    "DownResult",
    "ServiceStatus",
    "UpResult",
    "compose_dir",
    "compose_doc",
    "compose_env",
    "down",
    "interpolate",
    "parse_ps",
    "published_ports",
    "render",
    "require_engine",
    "services_for",
    "standard_topology",
    "static_target_text",
    "status",
    "target_profile",
    "up",
    "write_static_target",
]


@dataclass(frozen=True)
class UpResult:
    services: list[str]  # the compose services brought up
    restarted: list[str]  # running services restarted because a file they mount changed
    target_file: Path  # the grader's target profile


@dataclass(frozen=True)
class DownResult:
    purged: bool


def services_for(topo: Topology, only: Sequence[str] | None) -> list[str]:
    """The compose services of the named components and their dependencies ([] means all)."""
    if not only:
        return []
    services = [s for c in topo.select(list(only)) for s in c.compose]
    if not services:
        valid = ", ".join(c.name for c in topo if c.compose)
        raise StackError(
            f"no compose service implements {', '.join(only)} (it runs inside "
            f"another container); components with one: {valid}"
        )
    return services


def up(data_dir: Path, only: Sequence[str] | None = None) -> UpResult:
    """Render, then `docker compose up -d --wait`; a no-op when nothing changed."""
    topo, layout = topology(), DataDir(data_dir)
    services = services_for(topo, only)
    require_engine()
    env = compose_env(data_dir)
    label = f"label=com.docker.compose.project={compose_doc()['name']}"
    volumes = run(["docker", "volume", "ls", "-q", "--filter", label], env=env)
    data_exists = bool(check(volumes, "docker volume ls").stdout.strip())
    secrets = secrets_mod.ensure(layout.secrets, data_exists=data_exists)
    changed = render(data_dir, secrets)
    running = {s.service for s in statuses(env) if s.state == "running"}
    stale = sorted(running & _services_mounting(changed, data_dir, env))
    if stale:  # a bind mount shows the old file until its container restarts
        check(compose_cmd(["restart", *stale], env), "docker compose restart")
    result = compose_cmd(
        ["up", "-d", "--wait", "--wait-timeout", str(WAIT_TIMEOUT_S), *services], env, capture=False
    )  # its progress goes to the terminal
    if result.returncode != 0:
        raise ComponentFailed(_failure_report(env, services))
    profile = target_profile(topo, secrets_dir=layout.secrets, project_dir=REPO_ROOT)
    header = "# Written by `python -m stack up --runtime compose`. Do not edit: it is rewritten.\n"
    write_if_changed(layout.target_file, header + yaml.safe_dump(profile, sort_keys=False))
    return UpResult(services or list(compose_doc()["services"]), stale, layout.target_file)


def down(data_dir: Path, purge: bool = False) -> DownResult:
    """Remove the containers; `purge` also deletes the volumes and the data directory."""
    require_engine()
    args = ["down", "--remove-orphans", *(["--volumes"] if purge else [])]
    check(compose_cmd(args, compose_env(data_dir)), "docker compose down")
    if purge and data_dir.exists():
        shutil.rmtree(data_dir)
    return DownResult(purged=purge)


def status(data_dir: Path) -> list[ServiceStatus]:
    """One row per service of compose.yaml, in its order."""
    require_engine()
    return statuses(compose_env(data_dir))


def _services_mounting(changed: set[Path], data_dir: Path, env: Mapping[str, str]) -> set[str]:
    """The services that bind-mount a changed file, or its directory, from .stack/compose/."""
    doc, rendered, found = compose_doc(), compose_dir(data_dir).resolve(), set()
    changed = {f.resolve() for f in changed}
    for name, service in doc["services"].items():
        sources = [interpolate(str(v), env).split(":")[0] for v in service.get("volumes", [])]
        sources += [interpolate(doc["secrets"][s]["file"], env) for s in service.get("secrets", [])]
        paths = {(REPO_ROOT / s).resolve() for s in sources}
        mounts = {p for p in paths if p == rendered or rendered in p.parents}
        if any(f == p or p in f.parents for f in changed for p in mounts):
            found.add(name)
    return found


def _failure_report(env: Mapping[str, str], services: list[str]) -> str:
    reports = []
    for s in statuses(env):
        wanted = not services or s.service in services
        if wanted and (s.state, s.health) != ("running", "healthy"):
            logs = compose_cmd(["logs", "--no-color", "--tail", "30", s.service], env).stdout or ""
            reports.append(
                f"compose service {s.service!r} did not become healthy (state: "
                f"{s.state or '-'}, health: {s.health or '-'}); its last log lines:\n"
                f"{logs.rstrip() or '(no output)'}"
            )
    return "\n\n".join(reports) or "`docker compose up --wait` failed; its output is above"


class Controls:
    """kill, stop and start a component's compose services: the controls the grader and the
    chaos drills use. Docker does not restart a container killed on purpose (its restart
    policy ignores a manual stop), so after `kill` the repair is `start`, not a wait."""

    def __init__(self, project_dir: Path) -> None:
        self.data_dir = project_dir / ".stack"

    def _services(self, name: str) -> list[str]:
        component = topology().get(name)
        if not component.compose:
            raise StackError(f"{name} has no compose service of its own")
        return list(component.compose)

    def _compose(self, args: list[str], what: str) -> None:
        require_engine()
        check(compose_cmd(args, compose_env(self.data_dir)), what)

    def kill(self, name: str, *, hold: bool = False) -> None:
        self._compose(["kill", "-s", "SIGKILL", *self._services(name)], "docker compose kill")
        if hold:  # a killed container may restart by its policy: make sure it stays down
            self.stop(name)

    def stop(self, name: str) -> None:
        self._compose(["stop", *self._services(name)], "docker compose stop")

    def pause(self, name: str) -> None:
        """Freeze the containers (cgroup freezer): a hang, not a crash."""
        self._compose(["pause", *self._services(name)], "docker compose pause")

    def resume(self, name: str) -> None:
        self._compose(["unpause", *self._services(name)], "docker compose unpause")

    def restart(self, name: str) -> None:
        self._compose(["restart", *self._services(name)], "docker compose restart")

    def started(self, name: str) -> dict[str, str]:
        """Each container's id and start time: it changes exactly when it restarted."""
        require_engine()
        env = compose_env(self.data_dir)
        found = {}
        for service in self._services(name):
            ids = check(compose_cmd(["ps", "-q", service], env), "docker compose ps -q").stdout
            for container in ids.split():
                inspect = ["docker", "inspect", "-f", "{{.State.StartedAt}}", container]
                found[container] = check(run(inspect, env=env), "docker inspect").stdout.strip()
        return found

    def start(self, name: str) -> None:
        args = ["up", "-d", "--wait", "--wait-timeout", str(WAIT_TIMEOUT_S)]
        self._compose([*args, *self._services(name)], "docker compose up")
