"""compose.yaml and its rendered configs, checked without a Docker engine.

The file must agree with stack/topology.py (services, ports, dependencies), mount only files that
exist in the repo or that stack/runtimes/compose/render.py renders, use only the secrets
stack/secrets.py issues, and every config it mounts must pass the upstream validators
(promtool, amtool, nginx -t).
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from stack import landing, secrets
from stack.contracts import scrape_jobs
from stack.gateway import upstream_values
from stack.paths import CONFIG_DIR, REPO_ROOT
from stack.render import render_text
from stack.retention import retention
from stack.runtimes import compose
from stack.runtimes.compose.render import landing_topology
from stack.topology import port_env_var
from tests.compose_schema import schema_errors
from tests.programs import needs, run

RENDERED = "${STACK_DATA_DIR:-./.stack}/compose/"
# Host paths outside the repo that a service may mount, and why.
HOST_MOUNTS = {("node-exporter", "/")}  # the host's filesystems, read-only, for node metrics
# Services that are not (yet) topology components: Grafana runs in compose only (the local
# runtime's console renders the same dashboards later), so it has no `local` launcher to give.
# tests/monitoring/test_grafana_compose.py checks their shape, ports and secrets instead.
NOT_IN_TOPOLOGY = {"grafana", "grafana-setup"}
# The log pipeline's compose services: the topology's logstore and shipper run logstore and
# rsyslog locally and have no compose service yet (compose=()). tests/elk/test_compose_elk.py
# checks these instead.
NOT_IN_TOPOLOGY |= {"elasticsearch", "elasticsearch-setup", "logstash", "kibana", "kibana-setup"}
# The S3 off-box target of the backups (profile `offsite`, compose.offsite.yaml);
# services/backup/tests/test_compose_offsite.py checks them.
NOT_IN_TOPOLOGY |= {"minio", "minio-setup"}

TOPOLOGY = compose.standard_topology()


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return compose.compose_doc()


@pytest.fixture(scope="module")
def services(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(doc["services"])


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with fresh secrets and everything the compose runtime renders."""
    data = tmp_path_factory.mktemp("stack")
    compose.render(data, secrets.ensure(data / "secrets", data_exists=False))
    return data


def host_path(doc: dict[str, Any], service: str, container_path: str, data_dir: Path) -> Path:
    """Where a path inside `service`'s container comes from, through its mounts and secrets."""
    env = {"STACK_DATA_DIR": str(data_dir)}
    spec = doc["services"][service]
    mounts = {}
    for volume in spec.get("volumes", []):
        source, target = compose.interpolate(volume, env).split(":")[:2]
        mounts[target] = source
    for name in spec.get("secrets", []):
        mounts[f"/run/secrets/{name}"] = compose.interpolate(doc["secrets"][name]["file"], env)
    for target in sorted(mounts, key=len, reverse=True):
        if container_path == target or container_path.startswith(target.rstrip("/") + "/"):
            rest = container_path[len(target) :].lstrip("/")
            return (REPO_ROOT / mounts[target] / rest).resolve()
    raise AssertionError(f"{service}: {container_path} is not mounted (mounts: {sorted(mounts)})")


# ---- the file itself --------------------------------------------------------------------


def test_starts_with_the_command_that_uses_it() -> None:
    head = compose.COMPOSE_FILE.read_text(encoding="utf-8").splitlines()[:3]
    assert head[0].startswith("#"), "compose.yaml must start with a comment"
    assert any("python -m stack up --runtime compose" in line for line in head), head


def test_matches_the_compose_specification(doc: dict[str, Any]) -> None:
    errors = schema_errors(doc)
    assert not errors, "compose.yaml breaks the Compose Specification:\n  " + "\n  ".join(errors)


def test_every_image_is_pinned_to_a_tag(services: dict[str, dict[str, Any]]) -> None:
    bad = {}
    for name, spec in services.items():
        image = str(spec.get("image", ""))
        repo, _, tag = image.rpartition(":")
        if not repo or "/" in tag or tag in ("", "latest"):
            bad[name] = image or "(no image)"
    assert not bad, f"images must be pinned to a tag other than latest: {bad}"


def test_every_service_has_the_same_shape(doc: dict[str, Any]) -> None:
    problems = []
    for name, spec in doc["services"].items():
        if spec.get("restart") != "unless-stopped":
            problems.append(f"{name}.restart = {spec.get('restart')!r}, expected 'unless-stopped'")
        if not re.fullmatch(r"\d+[kmg]", str(spec.get("mem_limit", ""))):
            problems.append(f"{name}.mem_limit = {spec.get('mem_limit')!r}, expected e.g. 128m")
        if not spec.get("healthcheck", {}).get("test"):
            problems.append(f"{name}.healthcheck.test is missing")
        if spec.get("logging") not in (doc["x-logging"], doc["x-syslog"]):
            problems.append(f"{name}.logging is not the shared x-logging or x-syslog anchor")
    assert not problems, "\n".join(problems)


def test_infrastructure_logs_go_to_the_shippers_syslog_input(doc: dict[str, Any]) -> None:
    """PostgreSQL and RabbitMQ log through Docker's syslog driver to the published syslog port
    of Logstash (the `system` dataset); over UDP, so they start without Logstash."""
    logstash_ports = [str(p) for p in doc["services"]["logstash"]["ports"]]
    udp = next(p for p in logstash_ports if p.endswith("/udp"))
    published = udp.rsplit(":", 1)[0]  # 127.0.0.1:${STACK_PORT_SHIPPER_SYSLOG:-5514}
    syslog = doc["x-syslog"]
    assert syslog["driver"] == "syslog"
    assert syslog["options"]["syslog-address"] == f"udp://{published}"
    assert syslog["options"]["syslog-format"] == "rfc5424"
    infrastructure = [*TOPOLOGY.get("postgres").compose, *TOPOLOGY.get("rabbitmq").compose]
    wrong = [n for n in infrastructure if doc["services"][n].get("logging") != syslog]
    assert not wrong, f"not logging to syslog: {wrong}"


def test_services_are_the_topology_components(services: dict[str, dict[str, Any]]) -> None:
    named = {s: c.name for c in TOPOLOGY for s in c.compose}
    assert set(services) - NOT_IN_TOPOLOGY == set(named) - NOT_IN_TOPOLOGY, (
        f"only in compose.yaml: {sorted(set(services) - set(named))}; "
        f"only in the topology's `compose` tuples: {sorted(set(named) - set(services))}"
    )


def _compose_services(c: Any, dep: str) -> tuple[str, ...]:
    """A service waits for its own database's server only, not for every PostgreSQL."""
    if dep == "postgres" and c.service is not None and c.service.database:
        return (f"postgres-{c.service.database}",)
    if dep == "logstore":  # compose's log store is Elasticsearch, ready once set up
        return ("elasticsearch-setup",)
    return TOPOLOGY.get(dep).compose


def test_depends_on_follows_the_topology(services: dict[str, dict[str, Any]]) -> None:
    problems = []
    for c in TOPOLOGY:
        expected = {s for dep in c.depends_on for s in _compose_services(c, dep)}
        for service in c.compose:
            depends = services[service].get("depends_on", {})
            if set(depends) != expected:
                problems.append(
                    f"{service}.depends_on = {sorted(depends)}, expected "
                    f"{sorted(expected)} (component {c.name}: {list(c.depends_on)})"
                )
            problems += [
                f"{service}.depends_on.{d}.condition = {v.get('condition')!r}, expected "
                "'service_healthy'"
                for d, v in depends.items()
                if v.get("condition") != "service_healthy"
            ]
    assert not problems, "\n".join(problems)


def test_published_ports_agree_with_the_topology(services: dict[str, dict[str, Any]]) -> None:
    pattern = re.compile(r"127\.0\.0\.1:\$\{(STACK_PORT_[A-Z0-9_]+):-(\d+)\}:(\d+)")
    observed: dict[str, dict[str, tuple[int, int]]] = {}
    for name, spec in services.items():
        if name in NOT_IN_TOPOLOGY:
            continue
        for entry in spec.get("ports", []):
            match = pattern.fullmatch(str(entry))
            assert match, (
                f"{name}.ports: {entry!r} must be 127.0.0.1:${{STACK_PORT_...:-N}}:M "
                "(loopback only, movable like the local runtime's ports)"
            )
            observed.setdefault(name, {})[match[1]] = (int(match[2]), int(match[3]))
    owner = {s: c.name for c in TOPOLOGY for s in c.compose}
    expected = {
        service: {port_env_var(owner[service], port): numbers for port, numbers in ports.items()}
        for service, ports in compose.published_ports(TOPOLOGY).items()
    }
    assert observed == expected, (
        f"published ports (host, container):\n  compose.yaml: "
        f"{observed}\n  topology:     {expected}"
    )


def test_secrets_are_the_ones_stack_secrets_issues(doc: dict[str, Any]) -> None:
    declared = doc["secrets"]
    for name, spec in declared.items():
        assert name in secrets.SPEC_BY_NAME, f"secret {name!r} is not issued by stack/secrets.py"
        assert spec == {"file": f"{RENDERED}secrets/{name}"}, (
            f"secret {name!r} must be the copy the compose runtime renders: {spec}"
        )
    used = {s for spec in doc["services"].values() for s in spec.get("secrets", [])}
    assert used == set(declared), (
        f"declared but unused: {sorted(set(declared) - used)}; "
        f"used but undeclared: {sorted(used - set(declared))}"
    )
    for name, spec in doc["services"].items():
        wanted = set(re.findall(r"/run/secrets/([\w.]+)", json.dumps(spec)))
        missing = wanted - set(spec.get("secrets", []))
        assert not missing, f"{name} reads /run/secrets/{sorted(missing)} without the secret"


def test_every_mount_exists_in_the_repo_or_is_rendered(doc: dict[str, Any], data_dir: Path) -> None:
    env = {"STACK_DATA_DIR": str(data_dir)}
    for name, spec in doc["services"].items():
        for volume in spec.get("volumes", []):
            source = compose.interpolate(volume, env).split(":")[0]
            if not source.startswith((".", "/")):
                assert source in doc["volumes"], f"{name}: volume {source!r} is not declared"
                continue
            path = (REPO_ROOT / source).resolve()
            assert path.exists(), f"{name} mounts {volume!r}, but {path} does not exist"
            inside = [REPO_ROOT, compose.compose_dir(data_dir)]
            assert any(path == p or p in path.parents for p in inside) or (
                (name, source) in HOST_MOUNTS
            ), f"{name} mounts a host path: {source}"
    for name, spec in doc["secrets"].items():
        path = Path(compose.interpolate(spec["file"], env))
        assert path.is_file() and path.stat().st_mode & 0o777 == 0o444, f"secret {name}: {path}"
        assert path.read_text().strip() == (data_dir / "secrets" / name).read_text().strip()


def test_every_file_a_program_is_given_is_mounted(doc: dict[str, Any], data_dir: Path) -> None:
    """Flags like --config.file=PATH, `-c PATH` and *_FILE variables name files that exist."""
    for name, spec in doc["services"].items():
        command = [str(a) for a in spec.get("command", [])]
        paths = [a.split("=", 1)[1] for a in command if re.match(r"--[\w.]+\.file=/", a)]
        paths += [b for a, b in itertools.pairwise(command) if a == "-c"]
        paths += [str(v) for k, v in spec.get("environment", {}).items() if k.endswith("_FILE")]
        for path in paths:
            assert host_path(doc, name, path, data_dir).is_file(), f"{name}: {path} is missing"


def test_retention_comes_from_the_policy(services: dict[str, dict[str, Any]]) -> None:
    keep = retention().metrics.tsdb_retention
    flag = f"--storage.tsdb.retention.time=${{STACK_TSDB_RETENTION:-{keep}}}"
    assert flag in services["prometheus"]["command"], "the default must be the policy's"
    assert compose.compose_env(Path("/x"))["STACK_TSDB_RETENTION"] == keep


def test_each_database_has_its_server_and_the_exporter_sees_all(
    services: dict[str, dict[str, Any]], data_dir: Path
) -> None:
    databases = TOPOLOGY.get("postgres").compose
    exporter = services["postgres-exporter"]
    assert exporter["environment"]["POSTGRES_HOSTS"].split() == list(databases)
    for service in databases:
        db = service.removeprefix("postgres-")
        spec = services[service]
        assert spec["environment"]["POSTGRES_DB"] == db
        assert f"db_{db}_password" in spec["secrets"]
        assert f"{RENDERED}postgres/{db}:/docker-entrypoint-initdb.d:ro" in spec["volumes"]
        sql = (compose.compose_dir(data_dir) / "postgres" / db / "init.sql").read_text()
        assert f'CREATE ROLE "{db}"' in sql and f"/run/secrets/db_{db}_password" in sql


def test_services_that_mail_get_the_mail_catchers_smtp_address(
    services: dict[str, dict[str, Any]],
) -> None:
    """`service.mails` in the topology is SMTP_ADDRESS here, as in the local runtime: the mail
    catcher's compose service and SMTP port. No other service gets one."""
    mailbox = TOPOLOGY.get("mailbox")
    expected = f"{mailbox.compose[0]}:{mailbox.ports['smtp']}"
    mailing = []
    for c in TOPOLOGY:
        for service in c.compose:
            given = services[service].get("environment", {}).get("SMTP_ADDRESS")
            if c.service is not None and c.service.mails:
                mailing.append(service)
                assert given == expected, f"{service}: SMTP_ADDRESS {given!r}, expected {expected}"
            else:
                assert given is None, f"{service} has SMTP_ADDRESS but not service.mails"
    assert mailing, "no service sends mail (the status page's subscribers do)"


def test_mailpit_and_exporters_accept_the_admin_password(data_dir: Path) -> None:
    import bcrypt

    password = (data_dir / "secrets" / "admin_password").read_text().strip().encode()
    rendered = compose.compose_dir(data_dir)
    user, hashed = (rendered / "mailpit" / "htpasswd").read_text().strip().split(":", 1)
    assert user == "admin" and hashed.startswith("$2y$"), "htpasswd files carry bcrypt as $2y$"
    assert bcrypt.checkpw(password, hashed.encode())
    web = yaml.safe_load((rendered / "web" / "web.yml").read_text())
    assert bcrypt.checkpw(password, web["basic_auth_users"]["admin"].encode())


def test_file_sd_targets_are_compose_services(
    services: dict[str, dict[str, Any]], data_dir: Path
) -> None:
    # Every topology port is one the service listens on inside the network, published or not.
    standard = compose.standard_topology()
    container_ports = {s: set(c.ports.values()) for c in standard for s in c.compose}
    targets_dir = compose.compose_dir(data_dir) / "prometheus" / "targets"
    assert {p.stem for p in targets_dir.glob("*.json")} == set(scrape_jobs())
    for path in targets_dir.glob("*.json"):
        for group in json.loads(path.read_text()):
            for target in group["targets"]:
                # blackbox-http targets are URLs (http://service:port/path)
                address = target.split("://", 1)[-1].split("/", 1)[0]
                service, port = address.rsplit(":", 1)
                assert int(port) in container_ports.get(service, set()), (
                    f"{path.name}: {target} is not a port that service {service!r} listens on"
                )


def test_the_static_target_profile_agrees() -> None:
    observed = compose.STATIC_TARGET.read_text(encoding="utf-8")
    assert observed == compose.static_target_text(), (
        f"{compose.STATIC_TARGET} is out of date; regenerate it with\n  python -c 'from "
        "stack.runtimes.compose import write_static_target; write_static_target()'"
    )


# ---- the rendered configs, through the upstream validators ------------------------------


def test_prometheus_config_as_rendered(data_dir: Path) -> None:
    run(
        [
            needs("promtool"),
            "check",
            "config",
            "--syntax-only",
            str(compose.compose_dir(data_dir) / "prometheus" / "prometheus.yml"),
        ]
    )


def test_prometheus_config_with_its_mounts(
    doc: dict[str, Any], data_dir: Path, tmp_path: Path
) -> None:
    """Every path in prometheus.yml, followed through the mounts: rule files, file_sd targets
    and the password file exist, and promtool validates them all."""
    promtool = needs("promtool")
    text = (compose.compose_dir(data_dir) / "prometheus" / "prometheus.yml").read_text()
    for path in set(re.findall(r"(?<![\w.])/(?:etc|run)/[\w./*-]+", text)):
        text = text.replace(path, str(host_path(doc, "prometheus", path, data_dir)))
    (tmp_path / "prometheus.yml").write_text(text)
    run([promtool, "check", "config", str(tmp_path / "prometheus.yml")])


def test_web_config(data_dir: Path) -> None:
    run(
        [
            needs("promtool"),
            "check",
            "web-config",
            str(compose.compose_dir(data_dir) / "web" / "web.yml"),
        ]
    )


def test_alertmanager_config(data_dir: Path) -> None:
    run(
        [
            needs("amtool"),
            "check-config",
            str(compose.compose_dir(data_dir) / "alertmanager" / "alertmanager.yml"),
        ]
    )


def test_the_landing_page_links_grafana_and_kibana_where_compose_publishes_them() -> None:
    moved = {"STACK_PORT_GRAFANA": "13000", "STACK_PORT_PROMETHEUS": "19090"}
    topo = landing_topology(moved)
    assert topo.get("console").url() == "http://127.0.0.1:13000"
    assert topo.get("console").url("kibana") == "http://127.0.0.1:5601"
    assert topo.get("prometheus").url() == "http://127.0.0.1:19090"


def test_nginx_config(data_dir: Path, tmp_path: Path) -> None:
    """compose's nginx.conf, with its run, log and temp paths moved to a scratch prefix (nginx -t
    opens the logs and creates the temp directories)."""
    nginx = needs("nginx")
    rendered = (compose.compose_dir(data_dir) / "nginx" / "nginx.conf").read_text()
    template = (CONFIG_DIR / "nginx" / "nginx.conf").read_text()
    values = {
        "run_dir": "/var/run",
        "log_dir": "/var/log/nginx",
        "temp_dir": "/var/cache/nginx",
        "listen": TOPOLOGY.get("gateway").port,
        "stub_status_allow": "172.16.0.0/12",
        "landing_chunks": landing.nginx_chunks(
            landing.page(landing_topology(), data_dir / "secrets")
        ),
        **upstream_values(TOPOLOGY, lambda c: [f"{s}:{c.port}" for s in c.compose]),
    }
    assert render_text(template, values) == rendered, (
        "the compose runtime renders other nginx values"
    )
    # nginx -t resolves upstream host names, and compose's exist only on its network.
    values.update(upstream_values(TOPOLOGY, lambda c: [f"127.0.0.1:{c.port}"]))
    scratch = {k: str(tmp_path / k) for k in ("run_dir", "log_dir", "temp_dir")}
    for path in scratch.values():
        Path(path).mkdir()
    (tmp_path / "nginx.conf").write_text(render_text(template, {**values, **scratch}))
    run([nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")])
