"""The compose runtime: the stack on Docker with real images (`compose.yaml` at the repo root).

`up` renders the shared templates of `stack/config/` with compose's values into `.stack/compose/`
(with Prometheus' file_sd targets derived from the topology, each database's init.sql, and
readable copies of the secrets: compose.yaml says why), then runs `docker compose up -d --wait`.
Service names and ports come from stack/topology.py; tests/test_compose_file.py proves that
compose.yaml agrees. With no Docker engine, every entry point raises RuntimeUnavailable.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, cast

import yaml

from stack import secrets as secrets_mod
from stack.errors import ComponentFailed, RuntimeUnavailable, StackError
from stack.paths import CONFIG_DIR, REPO_ROOT, DataDir
from stack.render import render_text, write_if_changed
from stack.retention import retention
from stack.targets import target_profile as local_target_profile
from stack.topology import Topology, build, topology

COMPOSE_FILE = REPO_ROOT / "compose.yaml"
STATIC_TARGET = REPO_ROOT / "checks" / "targets" / "compose.yaml"
SCRAPE_INTERVAL = "15s"  # the reference deployment's pace; the local runtime uses 5s
GROUP_WAIT = "10s"
WAIT_TIMEOUT_S = 300
# Where compose.yaml mounts things inside the containers.
SECRETS_MOUNT = "/run/secrets"
TARGETS_MOUNT = "/etc/prometheus/targets"
RULES_MOUNT = "/etc/prometheus-rules"
# Ports that stay on the compose network: four PostgreSQL servers cannot share one host port,
# and RabbitMQ's Erlang distribution ports (node `dist`, CLI `ctl`) are internal plumbing.
# Every other topology port is published; tests/test_compose_file.py holds compose.yaml to it.
UNPUBLISHED = {("postgres", "main"), ("rabbitmq", "dist"), ("rabbitmq", "ctl")}
# Shared templates (stack/config/...) -> their compose rendering (.stack/compose/...).
TEMPLATES = {
    "prometheus/prometheus.yml": "prometheus/prometheus.yml",
    "alertmanager/alertmanager.yml": "alertmanager/alertmanager.yml",
    "web.yml": "web/web.yml",
    "nginx/nginx.conf": "nginx/nginx.conf",
    "mailbox/htpasswd": "mailpit/htpasswd",
}
INIT_SQL = """\
-- Rendered by `python -m stack up --runtime compose` for compose service postgres-{{ db }}.
-- The image runs it once, as the superuser, on an empty data directory; the passwords are
-- read from the Docker secrets, never written here.
\\set ON_ERROR_STOP on
\\set owner_password `cat {{ secrets_dir }}/db_{{ db }}_password`
\\set exporter_password `cat {{ secrets_dir }}/postgres_exporter_password`
CREATE ROLE "{{ db }}" LOGIN PASSWORD :'owner_password';
ALTER DATABASE "{{ db }}" OWNER TO "{{ db }}";
REVOKE ALL ON DATABASE "{{ db }}" FROM PUBLIC;
CREATE ROLE postgres_exporter LOGIN PASSWORD :'exporter_password';
GRANT pg_monitor TO postgres_exporter;
"""
STATIC_TARGET_HEADER = """\
# The target profile of the compose runtime, to grade it by hand:
#   pytest checks --target checks/targets/compose.yaml
# Generated from stack/topology.py by stack.runtimes.compose.write_static_target(); do not
# edit. `python -m stack up --runtime compose` writes the same profile to .stack/target.yaml.
# Relative paths resolve against this file's directory: the secrets are the repo's .stack/.
"""


@dataclass(frozen=True)
class UpResult:
    services: list[str]  # the compose services brought up
    restarted: list[str]  # running services restarted because a file they mount changed
    target_file: Path  # the grader's target profile


@dataclass(frozen=True)
class DownResult:
    purged: bool


@dataclass(frozen=True)
class ServiceStatus:
    service: str
    component: str | None  # the topology component it implements
    state: str  # running, exited, restarting, ... or "not created"
    health: str  # healthy, unhealthy, starting; "" without a container


def standard_topology() -> Topology:
    """The topology without STACK_PORT_* overrides: the ports programs listen on inside the
    compose network, where overrides move only the published side. (build() reads os.environ
    when given an empty mapping, hence the placeholder.)"""
    return build(environ={"STACK_PORT_OVERRIDES": "ignored inside the compose network"})


def published_ports(topo: Topology) -> dict[str, dict[str, tuple[int, int]]]:
    """compose service -> port name -> (host port, container port)."""
    standard, result = standard_topology(), {}
    for c in topo:
        ports = {
            name: (port, standard.get(c.name).ports[name])
            for name, port in c.ports.items()
            if (c.name, name) not in UNPUBLISHED
        }
        result.update({service: ports for service in c.compose if ports})
    return result


def file_sd_groups(topo: Topology) -> dict[str, list[dict[str, object]]]:
    """Prometheus file_sd target groups per job: compose service names, container ports."""
    jobs: dict[str, list[dict[str, object]]] = {}
    for c in topo:
        if c.metrics is not None:
            labels = {"component": c.name}
            if c.metrics.path != "/metrics":
                labels["__metrics_path__"] = c.metrics.path
            port = c.ports[c.metrics.port]
            jobs.setdefault(c.metrics.job, []).append(
                {"targets": [f"{s}:{port}" for s in c.compose], "labels": labels}
            )
    return jobs


def compose_dir(data_dir: Path) -> Path:
    return data_dir / "compose"


def render(data_dir: Path, secrets: secrets_mod.Secrets) -> set[Path]:
    """Write everything compose.yaml mounts from .stack/compose/; returns the changed files."""
    topo, out = standard_topology(), compose_dir(data_dir)
    out.mkdir(parents=True, exist_ok=True)
    os.chmod(out, 0o700)  # it guards the 0444 secret copies below
    mailbox = topo.get("mailbox")
    values = {
        "scrape_interval": SCRAPE_INTERVAL,
        "stack_name": "compose",
        "secrets_dir": SECRETS_MOUNT,
        "targets_dir": TARGETS_MOUNT,
        "rules_dir": RULES_MOUNT,
        "smtp_host": mailbox.compose[0],
        "smtp_port": mailbox.ports["smtp"],
        "group_wait": GROUP_WAIT,
        "admin_password_bcrypt": secrets.read("admin_password.bcrypt"),
        "run_dir": "/var/run",
        "log_dir": "/var/log/nginx",
        "temp_dir": "/var/cache/nginx",
        "listen": topo.get("gateway").port,
    }
    files: dict[Path, tuple[str, int]] = {}
    for template, dest in TEMPLATES.items():
        source = CONFIG_DIR / template
        text = render_text(source.read_text(encoding="utf-8"), values, source=str(source))
        files[out / dest] = (text, 0o644)
    for job, groups in file_sd_groups(topo).items():
        files[out / "prometheus" / "targets" / f"{job}.json"] = (json.dumps(groups), 0o644)
    for service in topo.get("postgres").compose:
        db = service.removeprefix("postgres-")
        sql = render_text(INIT_SQL, {"db": db, "secrets_dir": SECRETS_MOUNT}, source="INIT_SQL")
        files[out / "postgres" / db / "init.sql"] = (sql, 0o644)
    for name in compose_doc()["secrets"]:
        files[out / "secrets" / name] = (secrets.read(name) + "\n", 0o444)
    changed = {
        path for path, (text, mode) in files.items() if write_if_changed(path, text, mode=mode)
    }
    for path in files:  # the images run as postgres or nobody: directories must be readable
        for parent in path.relative_to(out).parents:
            if parent != Path("."):
                os.chmod(out / parent, 0o700 if parent.parts[0] == "secrets" else 0o755)
    return changed


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


def target_profile(topo: Topology, *, secrets_dir: Path, project_dir: Path) -> dict[str, Any]:
    """The grader's view of the compose stack: its published components and ports only."""
    profile = local_target_profile(
        topo, secrets_dir=secrets_dir, project_dir=project_dir, data_dir=project_dir
    )
    local = cast(dict[str, dict[str, Any]], profile["components"])
    published, components = published_ports(topo), {}
    for c in topo:
        names = {n for s in c.compose for n in published.get(s, {})}
        if names:
            urls = {n: u for n, u in local[c.name]["urls"].items() if n in names}
            components[c.name] = {**local[c.name], "urls": urls}
    return {
        **profile,
        "name": "compose reference stack",
        "runtime": "compose",
        "control": {"driver": "compose", "project_dir": str(project_dir)},
        "timeouts": {"default": 30, "healthy": 120, "probe": 5},
        "components": components,
    }


def static_target_profile() -> dict[str, Any]:
    """checks/targets/compose.yaml: the same profile, paths relative to that file."""
    return target_profile(
        standard_topology(), secrets_dir=Path("../../.stack/secrets"), project_dir=Path("../..")
    )


def write_static_target() -> bool:
    """Regenerate checks/targets/compose.yaml (tests/test_compose_file.py says when)."""
    text = STATIC_TARGET_HEADER + yaml.safe_dump(static_target_profile(), sort_keys=False)
    return write_if_changed(STATIC_TARGET, text)


# ---- docker ------------------------------------------------------------------------------


def require_engine() -> None:
    """Raise RuntimeUnavailable, in one line with the fix, unless Docker and Compose v2 answer."""
    fix = (
        "install Docker Engine and its compose plugin (https://docs.docker.com/engine/install/)"
        ", or use `python -m stack up --runtime local`"
    )
    if shutil.which("docker") is None:
        raise RuntimeUnavailable(f"the compose runtime needs Docker, not on PATH: {fix}")
    info = _run(["docker", "info", "--format", "{{.ServerVersion}}"])
    if info.returncode != 0:
        raise RuntimeUnavailable(
            f"no Docker engine answers (`docker info` failed: "
            f"{_first_line(info.stderr)}): start it, or {fix}"
        )
    version = _run(["docker", "compose", "version", "--short"])
    if version.returncode != 0:
        raise RuntimeUnavailable(
            f"Docker Compose v2 is missing (`docker compose version` failed: "
            f"{_first_line(version.stderr)}): {fix}"
        )


def up(data_dir: Path, only: Sequence[str] | None = None) -> UpResult:
    """Render, then `docker compose up -d --wait`; a no-op when nothing changed."""
    topo, layout = topology(), DataDir(data_dir)
    services = services_for(topo, only)
    require_engine()
    env = compose_env(data_dir)
    project = f"label=com.docker.compose.project={compose_doc()['name']}"
    volumes = _check(
        _run(["docker", "volume", "ls", "-q", "--filter", project], env=env), "docker volume ls"
    )
    secrets = secrets_mod.ensure(layout.secrets, data_exists=bool(volumes.stdout.strip()))
    changed = render(data_dir, secrets)
    running = {s.service for s in _statuses(env) if s.state == "running"}
    stale = sorted(running & _services_mounting(changed, data_dir, env))
    if stale:  # a bind mount shows the old file until its container restarts
        _check(_compose(["restart", *stale], env), "docker compose restart")
    result = _compose(
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
    _check(_compose(args, compose_env(data_dir)), "docker compose down")
    if purge and data_dir.exists():
        shutil.rmtree(data_dir)
    return DownResult(purged=purge)


def status(data_dir: Path) -> list[ServiceStatus]:
    """One row per service of compose.yaml, in its order."""
    require_engine()
    return _statuses(compose_env(data_dir))


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


def _statuses(env: Mapping[str, str]) -> list[ServiceStatus]:
    result = _check(_compose(["ps", "--all", "--format", "json"], env), "docker compose ps")
    rows = {row.get("Service"): row for row in parse_ps(result.stdout)}
    owner = {s: c.name for c in topology() for s in c.compose}
    return [
        ServiceStatus(
            s,
            owner.get(s),
            str(rows[s].get("State", "")) if s in rows else "not created",
            str(rows[s].get("Health", "")) if s in rows else "",
        )
        for s in compose_doc()["services"]
    ]


def _services_mounting(changed: set[Path], data_dir: Path, env: Mapping[str, str]) -> set[str]:
    """The services that bind-mount a changed file, or its directory, from .stack/compose/."""
    doc, rendered, found = compose_doc(), compose_dir(data_dir).resolve(), set()
    changed = {f.resolve() for f in changed}
    for name, service in doc["services"].items():
        sources = [interpolate(str(v), env).split(":")[0] for v in service.get("volumes", [])]
        sources += [interpolate(doc["secrets"][s]["file"], env) for s in service.get("secrets", [])]
        mounts = [
            p
            for p in ((REPO_ROOT / s).resolve() for s in sources)
            if p == rendered or rendered in p.parents
        ]
        if any(f == p or p in f.parents for f in changed for p in mounts):
            found.add(name)
    return found


def _failure_report(env: Mapping[str, str], services: list[str]) -> str:
    reports = []
    for s in _statuses(env):
        wanted = not services or s.service in services
        if wanted and (s.state, s.health) != ("running", "healthy"):
            logs = _compose(["logs", "--no-color", "--tail", "30", s.service], env).stdout or ""
            reports.append(
                f"compose service {s.service!r} did not become healthy (state: "
                f"{s.state or '-'}, health: {s.health or '-'}); its last log lines:\n"
                f"{logs.rstrip() or '(no output)'}"
            )
    return "\n\n".join(reports) or "`docker compose up --wait` failed; its output is above"


def _compose(
    args: list[str], env: Mapping[str, str], *, capture: bool = True
) -> subprocess.CompletedProcess[str]:
    base = ["docker", "compose", "--project-directory", str(REPO_ROOT), "-f", str(COMPOSE_FILE)]
    return _run([*base, *args], env=env, capture=capture, timeout=WAIT_TIMEOUT_S + 60)


def _run(
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
        raise RuntimeUnavailable(
            f"`{argv[0]}` is not installed: install Docker Engine, or use "
            "`python -m stack up --runtime local`"
        ) from None
    except subprocess.TimeoutExpired:
        raise StackError(f"`{' '.join(argv[:4])} ...` did not finish in {timeout:.0f}s") from None


def _check(result: subprocess.CompletedProcess[str], what: str) -> subprocess.CompletedProcess[str]:
    if result.returncode != 0:
        raise StackError(
            f"`{what}` failed (exit {result.returncode}): "
            f"{(result.stderr or '').strip() or 'no error output'}"
        )
    return result


def _first_line(text: str | None) -> str:
    return next((line.strip() for line in (text or "").splitlines() if line.strip()), "no output")
