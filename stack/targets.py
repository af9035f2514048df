"""What the rest of the world needs to find the stack, derived from the topology: the health
probe of each component, Prometheus' file_sd target files, and the grader's target profile.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import yaml

from stack.files import write_if_changed
from stack.probes import AmqpProbe, HttpProbe, PostgresProbe, Probe, TcpProbe
from stack.topology import HOST, Component, Topology

TARGET_VERSION = 1


def probe_for(c: Component, secrets_dir: Path, *, host: str = HOST) -> Probe:
    health = c.health
    port = c.ports[health.port]
    match health.kind:
        case "http":
            user = c.credentials if health.authenticated else None
            return HttpProbe(
                url=f"http://{host}:{port}{health.path}",
                username=user.username if user else None,
                password_file=secrets_dir / user.secret if user else None,
            )
        case "postgres":
            assert c.credentials is not None, "validated: postgres probes carry credentials"
            return PostgresProbe(
                host=host,
                port=port,
                user=c.credentials.username,
                password_file=secrets_dir / c.credentials.secret,
            )
        case "amqp":
            return AmqpProbe(host=host, port=port)
        case "tcp":
            return TcpProbe(host=host, port=port)


def loopback(c: Component, port: int) -> list[str]:
    """Where the local runtime's Prometheus reaches a component: 127.0.0.1."""
    return [f"{HOST}:{port}"]


def file_sd_groups(
    topology: Topology, addresses: Callable[[Component, int], list[str]] = loopback
) -> dict[str, list[dict[str, object]]]:
    """Prometheus file_sd target groups, one list per scrape job. `addresses` says where a
    component's metrics port is reached: loopback locally, compose service names in compose."""
    jobs: dict[str, list[dict[str, object]]] = {}
    for c in topology:
        if c.metrics is None:
            continue
        labels = {"component": c.name}
        if c.metrics.path != "/metrics":
            labels["__metrics_path__"] = c.metrics.path
        group: dict[str, object] = {
            "targets": addresses(c, c.ports[c.metrics.port]),
            "labels": labels,
        }
        jobs.setdefault(c.metrics.job, []).append(group)
    return jobs


def write_file_sd(topology: Topology, directory: Path) -> bool:
    changed = False
    for job, groups in file_sd_groups(topology).items():
        changed |= write_if_changed(directory / f"{job}.json", json.dumps(groups, indent=2) + "\n")
    return changed


def target_profile(
    topology: Topology, *, secrets_dir: Path, project_dir: Path, data_dir: Path
) -> dict[str, object]:
    """The grader's view of the local stack (schema: grader/target.py)."""
    components: dict[str, object] = {}
    for c in topology:
        entry: dict[str, object] = {
            "role": c.role,
            "urls": {name: f"{_scheme(c, name)}://{HOST}:{port}" for name, port in c.ports.items()},
            "probe": probe_for(c, secrets_dir).model_dump(mode="json", exclude_none=True),
        }
        if c.replica_of:
            entry["replica_of"] = c.replica_of
        if c.service and c.service.database:
            db = c.service.database
            entry["database"] = PostgresProbe(
                port=topology.get("postgres").port,
                user=db,
                password_file=secrets_dir / f"db_{db}_password",
                dbname=db,
            ).model_dump(mode="json")
        if c.credentials:
            entry["credentials"] = {
                "username": c.credentials.username,
                "password_file": str(secrets_dir / c.credentials.secret),
            }
        components[c.name] = entry
    return {
        "version": TARGET_VERSION,
        "name": "local reference stack",
        "runtime": "local",
        "control": {"driver": "local", "project_dir": str(project_dir), "data_dir": str(data_dir)},
        # fail_fast: how soon the gateway must answer for a dead service (no hang).
        # event: from an action to its event's effect in another service.
        "timeouts": {"default": 30, "healthy": 60, "fail_fast": 0.2, "event": 5},
        "scoring": "all-or-nothing",
        "components": components,
    }


def _scheme(c: Component, port_name: str) -> str:
    http_ports = {c.metrics.port} if c.metrics else set()
    if c.health.kind == "http":
        http_ports.add(c.health.port)
    return "http" if port_name in http_ports else "tcp"


def write_target_profile(path: Path, profile: dict[str, object]) -> bool:
    header = (
        "# Written by `python -m stack up` from stack/topology.py. Do not edit: it is rewritten.\n"
    )
    return write_if_changed(path, header + yaml.safe_dump(profile, sort_keys=False))
