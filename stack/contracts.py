"""What the rest of the world needs to find the stack, derived from the topology: the health
probe of each component, Prometheus' file_sd target files, and the grader's target profile.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import yaml
from healthprobe import AmqpProbe, HttpProbe, PostgresProbe, Probe, TcpProbe

from stack.files import write_if_changed
from stack.paths import CONFIG_DIR, DataDir
from stack.topology import HOST, Component, Topology

TARGET_VERSION = 1
OFFBOX_COMPONENT = "backup-offbox"  # the off-box directory's name among the data directories
BLACKBOX_HTTP_JOB = "blackbox-http"


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
    # Every job prometheus.yml reads gets a file, empty when no component has it (compose has
    # no logstore): Prometheus keeps a missing file_sd file as an error in its log.
    jobs: dict[str, list[dict[str, object]]] = {job: [] for job in scrape_jobs()}
    for c in topology:
        if c.metrics is None:
            continue
        labels = {"component": c.name}
        if c.service is not None:
            # One job per service (replicas share it), so that alerts and their inhibition
            # (ServiceDown silences HighErrorRate of the same job) are per service. A label
            # from service discovery wins over the scrape config's job_name.
            labels["job"] = c.replica_of or c.name
        if c.metrics.path != "/metrics":
            labels["__metrics_path__"] = c.metrics.path
        group: dict[str, object] = {
            "targets": addresses(c, c.ports[c.metrics.port]),
            "labels": labels,
        }
        jobs.setdefault(c.metrics.job, []).append(group)
    for c in topology:
        if c.outside_probe is not None:
            # The blackbox job's targets are URLs; prometheus.yml relabels them into the
            # exporter's `target` parameter (the multi-target exporter pattern).
            url = f"http://{addresses(c, c.port)[0]}{c.outside_probe}"
            group = {"targets": [url], "labels": {"component": c.name}}
            jobs.setdefault(BLACKBOX_HTTP_JOB, []).append(group)
    return jobs


def scrape_jobs() -> list[str]:
    """The file_sd files prometheus.yml reads (`<< targets_dir >>/<job>.json`)."""
    text = (CONFIG_DIR / "prometheus" / "prometheus.yml").read_text(encoding="utf-8")
    return re.findall(r"<< targets_dir >>/([a-z0-9-]+)\.json", text)


ALERT_WEBHOOK_PATH = "/api/v1/alerts"
ALERT_WEBHOOK_COMPONENT = "status"


def alert_webhook_url(topology: Topology, base_url: Callable[[Component], str]) -> str:
    """Where Alertmanager posts its webhook: the status service (`base_url` says how this
    runtime reaches a component)."""
    return base_url(topology.get(ALERT_WEBHOOK_COMPONENT)) + ALERT_WEBHOOK_PATH


def write_file_sd(topology: Topology, directory: Path) -> bool:
    changed = False
    for job, groups in file_sd_groups(topology).items():
        changed |= write_if_changed(directory / f"{job}.json", json.dumps(groups, indent=2) + "\n")
    return changed


KIBANA_SAVED_OBJECTS = CONFIG_DIR / "kibana" / "saved-objects.ndjson"
# The saved objects a Kibana-compatible component must hold (the visualizations come with
# their dashboard): `type/id`, in the file's order.
_REQUIRED_SAVED_TYPES = ("index-pattern", "search", "dashboard")


def required_saved_objects() -> list[str]:
    """`type/id` of the saved searches, index patterns and dashboards that compose imports into
    Kibana and the console loads: what the grader asks the target's Kibana API for."""
    found = []
    for line in KIBANA_SAVED_OBJECTS.read_text(encoding="utf-8").splitlines():
        if line.strip():
            saved = json.loads(line)
            if saved.get("type") in _REQUIRED_SAVED_TYPES:
                found.append(f"{saved['type']}/{saved['id']}")
    return found


def target_profile(
    topology: Topology, *, secrets_dir: Path, project_dir: Path, data_dir: Path
) -> dict[str, object]:
    """The grader's view of the local stack (schema: grader/target.py)."""
    components: dict[str, object] = {}
    services: dict[str, None] = {}  # the application services, each owning a database
    for c in topology.page_order():
        entry: dict[str, object] = {
            "role": c.role,
            "urls": {name: f"{_scheme(c, name)}://{HOST}:{port}" for name, port in c.ports.items()},
            "probe": probe_for(c, secrets_dir).model_dump(mode="json", exclude_none=True),
            "page": c.page.model_dump(),
        }
        if c.replica_of:
            entry["replica_of"] = c.replica_of
        if c.service and c.service.database:
            db = c.service.database
            services.setdefault(c.replica_of or c.name)
            entry["database"] = PostgresProbe(
                port=topology.get("postgres").port,
                user=db,
                password_file=secrets_dir / f"db_{db}_password",
                dbname=db,
            ).model_dump(mode="json")
        if c.metrics:
            entry["metrics"] = _metrics_access(c, secrets_dir)
        if c.service:
            entry["admin_token_file"] = str(secrets_dir / "admin_token")
        for key in ("credentials", "viewer", "writer"):
            login = getattr(c, key)
            if login is not None:
                entry[key] = {
                    "username": login.username,
                    "password_file": str(secrets_dir / login.secret),
                }
        components[c.name] = entry
    return {
        "version": TARGET_VERSION,
        "name": "local reference stack",
        "runtime": "local",
        "control": {"driver": "local", "project_dir": str(project_dir), "data_dir": str(data_dir)},
        # fail_fast: how soon the gateway must answer for a dead service (no hang).
        # event: from an action to its event's effect in another service.
        # alert: for a rule to fire or resolve (scrape + evaluation + `for` + rate window);
        # notification: from a firing alert to its email (group_wait, group_interval).
        # status_down / status_recovered: the status page's promises (a dead service
        # shown down within 15 s, its recovery and resolved incident within 30 s).
        "timeouts": {
            "default": 30,
            "healthy": 60,
            "fail_fast": 0.2,
            # hung_upstream: the longest a gateway answer may take while replicas hang (its
            # read timeout, 5 s, twice: one retry on another replica).
            # unaffected: the longest a request to a healthy service may take while another
            # service is dead or hung (a login hashes its password: a few hundred ms).
            # dependent: the longest the dependent request may take while the service it
            # calls hangs. Its own timeout on that call (users': 2 s) must end before the
            # gateway's read timeout (5 s) does, or the gateway answers for it.
            "hung_upstream": 12,
            "unaffected": 2,
            "dependent": 4,
            "event": 5,
            "alert": 120,
            "notification": 60,
            "status_down": 15,
            "status_recovered": 30,
            # backup: for a new verified backup (retention.yaml's local schedule, every 2
            # minutes, plus the dump and its restore test).
            "backup": 180,
            # log_arrival: from sending a log event to finding it (within 5 s).
            # retention: each step of the retention check (ILM polls every 10 s in logstore).
            "log_arrival": 5,
            "retention": 90,
        },
        "scoring": "all-or-nothing",
        # The checks exercise these one by one (stop, probe, back up).
        "services": list(services),
        "components": components,
        # The console serves Grafana's API on its main port and Kibana's on `kibana`.
        "monitoring": {"dashboards": "console", "dashboards_url": "main"},
        # The backup service copies every verified dump here (its OFFBOX_DIR).
        "backups": {
            "offbox": {"directory": str(DataDir(data_dir).component_data(OFFBOX_COMPONENT))}
        },
        "logging": {
            "ui": "console",
            "ui_url": "kibana",
            "ui_saved_objects": required_saved_objects(),
        },
    }


def _metrics_access(c: Component, secrets_dir: Path) -> dict[str, str]:
    assert c.metrics is not None
    access = {"url": f"http://{HOST}:{c.ports[c.metrics.port]}{c.metrics.path}"}
    if c.metrics.basic_auth:
        access["username"] = c.metrics.basic_auth.username
        access["password_file"] = str(secrets_dir / c.metrics.basic_auth.secret)
    if c.metrics.bearer_secret:
        access["bearer_file"] = str(secrets_dir / c.metrics.bearer_secret)
    return access


def _scheme(c: Component, port_name: str) -> str:
    http_ports = set(c.web_ports) | ({c.metrics.port} if c.metrics else set())
    if c.health.kind == "http":
        http_ports.add(c.health.port)
    return "http" if port_name in http_ports else "tcp"


def write_target_profile(path: Path, profile: dict[str, object]) -> bool:
    header = (
        "# Written by `python -m stack up` from stack/topology.py. Do not edit: it is rewritten.\n"
    )
    return write_if_changed(path, header + yaml.safe_dump(profile, sort_keys=False))
