"""The compose side of the log pipeline, checked without Docker: Elasticsearch, Logstash and
Kibana in compose.yaml and compose.scale.yaml, the Logstash pipeline, the setup requests
generated from retention.yaml (stack/elastic_setup.py) and the script that sends them, the
Kibana saved objects and the Grafana logs dashboard.
"""

from __future__ import annotations

import copy
import http.server
import json
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from stack import elastic_setup, secrets
from stack.errors import ConfigError
from stack.paths import CONFIG_DIR, REPO_ROOT
from stack.retention import Logs, retention
from stack.runtimes import compose
from stack.runtimes.compose.render import SNAPSHOTS_MOUNT
from stack.topology import SERVICE_DATABASES
from tests.compose_schema import schema_errors
from tests.elk.setup_script import start_setup, stop_setup

SCALE_FILE = REPO_ROOT / "compose.scale.yaml"
LOGSTASH = CONFIG_DIR / "logstash"
KIBANA_OBJECTS = CONFIG_DIR / "kibana" / "saved-objects.ndjson"
GRAFANA = CONFIG_DIR / "grafana"
LOGS_DASHBOARD = GRAFANA / "dashboards" / "logs" / "logs.json"
ELK = ("elasticsearch", "elasticsearch-setup", "logstash", "kibana", "kibana-setup")
# Every file the log pipeline's containers read from the repository.
CONFIG_FILES = [
    *sorted(p for p in LOGSTASH.rglob("*") if p.is_file()),
    *sorted(p for p in (CONFIG_DIR / "elasticsearch").rglob("*") if p.is_file()),
    *sorted(p for p in (CONFIG_DIR / "kibana").rglob("*") if p.is_file()),
    GRAFANA / "provisioning" / "datasources" / "elasticsearch.yaml",
    LOGS_DASHBOARD,
    SCALE_FILE,
]


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    return dict(compose.compose_doc()["services"])


@pytest.fixture(scope="module")
def scale() -> dict[str, Any]:
    return dict(yaml.safe_load(SCALE_FILE.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("stack")
    compose.render(data, secrets.ensure(data / "secrets", data_exists=False))
    return data


def pipeline_text() -> str:
    return "\n".join(p.read_text() for p in sorted((LOGSTASH / "pipeline").glob("*.conf")))


def merge(base: Any, override: Any) -> Any:
    """Compose's merge, as far as these files need it: maps merge, sequences append."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            out[key] = merge(base[key], value) if key in base else value
        return out
    if isinstance(base, list) and isinstance(override, list):
        return base + [v for v in override if v not in base]
    return override


# ---- compose.yaml and compose.scale.yaml ----------------------------------------------------


def test_the_elk_services_run_one_pinned_8x_version(services: dict[str, dict[str, Any]]) -> None:
    versions = {
        name: services[name]["image"].rpartition(":")[2]
        for name in ("elasticsearch", "logstash", "kibana")
    }
    assert len(set(versions.values())) == 1, f"one Elastic version for all three: {versions}"
    assert all(re.fullmatch(r"8\.\d+\.\d+", v) for v in versions.values()), versions


def test_the_scale_file_matches_the_compose_specification(scale: dict[str, Any]) -> None:
    assert not schema_errors(scale), schema_errors(scale)
    merged = merge(compose.compose_doc(), scale)
    errors = schema_errors(merged)
    assert not errors, "compose.yaml + compose.scale.yaml:\n" + "\n".join(errors)


def test_the_scale_file_makes_a_three_node_cluster(scale: dict[str, Any]) -> None:
    merged = merge(compose.compose_doc(), scale)["services"]
    nodes = ["elasticsearch", "es02", "es03"]
    for name in nodes:
        env = merged[name]["environment"]
        assert env["node.name"] == name
        assert env["discovery.type"] == "multi-node", f"{name}: {env['discovery.type']}"
        assert env["discovery.seed_hosts"].split(",") == nodes
        # Security on several nodes needs transport TLS (a bootstrap check refuses to start).
        assert env["xpack.security.transport.ssl.enabled"] == "true"
        assert env["xpack.security.transport.ssl.certificate"] == f"certs/{name}/{name}.crt"
        assert env["path.repo"] == merged["elasticsearch"]["environment"]["path.repo"]
        volumes = merged[name]["volumes"]
        assert "elasticsearch-snapshots:/usr/share/elasticsearch/snapshots" in volumes, name
    data = {v.split(":")[0] for n in nodes for v in merged[n]["volumes"] if v.endswith("/data")}
    assert len(data) == 3, f"each node needs its own data volume: {data}"


def test_every_node_reads_the_bootstrap_password_from_the_secret(scale: dict[str, Any]) -> None:
    # Every node checks `elastic` itself until a password is in the security index
    # (elastic/elasticsearch#112235); ELASTIC_PASSWORD_FILE would refuse the 0444 secret copies.
    merged = merge(compose.compose_doc(), scale)["services"]
    for name in ("elasticsearch", "es02", "es03"):
        spec = merged[name]
        assert "ELASTIC_PASSWORD_FILE" not in spec["environment"], name
        assert spec["entrypoint"] == ["/bin/sh", "-c"], name
        script = " ".join(spec["command"])
        assert 'ELASTIC_PASSWORD="$$(cat /run/secrets/elastic_password)"' in script, name
        assert script.endswith("exec /bin/tini -- /usr/local/bin/docker-entrypoint.sh eswrapper")
        assert spec["environment"]["indices.lifecycle.poll_interval"] == "10s", name


def test_every_secret_is_declared_and_issued(
    services: dict[str, dict[str, Any]], scale: dict[str, Any]
) -> None:
    declared = set(compose.compose_doc()["secrets"])
    for name, spec in [*services.items(), *scale["services"].items()]:
        used = set(spec.get("secrets", []))
        read = set(re.findall(r"/run/secrets/(\w+)", json.dumps(spec)))
        assert read <= used, f"{name} reads /run/secrets/{sorted(read - used)} without the secret"
        assert used <= declared, f"{name} uses undeclared secrets {sorted(used - declared)}"
    for name in ("elastic_password", "logstash_internal_password", "kibana_system_password"):
        assert name in declared and name in secrets.SPEC_BY_NAME, name


def test_no_password_in_any_config_file(data_dir: Path) -> None:
    """The generated secrets appear nowhere but in the secret files; configs name them."""
    values = {
        p.name: p.read_text().strip()
        for p in (data_dir / "secrets").iterdir()
        if p.is_file() and not p.name.endswith(".bcrypt")
    }
    rendered = compose.compose_dir(data_dir) / "elasticsearch-setup" / "setup-requests.txt"
    for path in [*CONFIG_FILES, compose.COMPOSE_FILE, rendered]:
        text = path.read_text(encoding="utf-8")
        leaked = [name for name, value in values.items() if len(value) >= 8 and value in text]
        assert not leaked, f"{path} holds the value of {leaked}"
    # A password option in the pipeline is always an environment reference.
    for value in re.findall(r"password\s*=>\s*(\S+)", pipeline_text()):
        assert re.fullmatch(r'"\$\{[A-Z_]+\}"', value), f"literal password in the pipeline: {value}"


def test_startup_order_and_authenticated_healthchecks(
    services: dict[str, dict[str, Any]],
) -> None:
    def waits_for(name: str) -> set[str]:
        return set(services[name].get("depends_on", {}))

    assert waits_for("elasticsearch-setup") == {"elasticsearch"}
    # Nothing writes or reads logs before the users, policy and templates exist.
    assert waits_for("logstash") == {"elasticsearch-setup"}
    assert waits_for("kibana") == {"elasticsearch-setup"}
    assert waits_for("kibana-setup") == {"kibana"}
    es_check = " ".join(services["elasticsearch"]["healthcheck"]["test"])
    assert "-u" in es_check and "/run/secrets/elastic_password" in es_check
    kibana_check = " ".join(services["kibana"]["healthcheck"]["test"])
    assert "= 401" in kibana_check, "Kibana is healthy only while it refuses anonymous users"
    assert services["kibana"]["environment"]["ELASTICSEARCH_USERNAME"] == "kibana_system"


def test_published_ports_are_loopback_and_the_shipper_s(
    services: dict[str, dict[str, Any]],
) -> None:
    shipper = compose.standard_topology().get("shipper").ports
    ports = services["logstash"]["ports"]
    assert f"127.0.0.1:${{STACK_PORT_SHIPPER:-{shipper['main']}}}:5000" in ports
    for proto in ("tcp", "udp"):
        wanted = f"127.0.0.1:${{STACK_PORT_SHIPPER_SYSLOG:-{shipper['syslog']}}}:5514/{proto}"
        assert wanted in ports, ports
    store = compose.standard_topology().get("logstore").port
    assert services["elasticsearch"]["ports"] == [
        f"127.0.0.1:${{STACK_PORT_LOGSTORE:-{store}}}:9200"
    ]
    assert services["kibana"]["ports"] == ["127.0.0.1:${STACK_PORT_KIBANA:-5601}:5601"]
    # The services ship to Logstash's TCP input inside the compose network.
    for name in (*SERVICE_DATABASES, "backup"):
        assert services[name]["environment"]["LOG_TCP_ADDRESS"] == "logstash:5000", name


# ---- the Logstash pipeline -----------------------------------------------------------------


def test_logstash_settings_keep_events_on_disk() -> None:
    settings = yaml.safe_load((LOGSTASH / "logstash.yml").read_text())
    assert settings["queue.type"] == "persisted"
    assert settings["dead_letter_queue.enable"] is True
    assert settings["path.data"] == "/usr/share/logstash/data"
    [pipeline] = yaml.safe_load((LOGSTASH / "pipelines.yml").read_text())
    assert pipeline["path.config"] == "/usr/share/logstash/pipeline/*.conf"
    assert pipeline["queue.type"] == "persisted"


def test_the_pipeline_listens_where_compose_publishes(services: dict[str, dict[str, Any]]) -> None:
    text = pipeline_text()
    inputs = re.findall(r"\n  (tcp|udp|file) \{(.*?)\n  \}", text, re.S)
    found = {(kind, int(p)) for kind, body in inputs for p in re.findall(r"port => (\d+)", body)}
    assert found == {("tcp", 5000), ("tcp", 5514), ("udp", 5514)}, found
    tcp_app = next(body for kind, body in inputs if "port => 5000" in body)
    assert "codec => json_lines" in tcp_app
    # The access log: the file the gateway writes, through the volume both mount.
    [file_input] = [body for kind, body in inputs if kind == "file"]
    [path] = re.findall(r'path => \["([^"]+)"\]', file_input)
    assert 'sincedb_path => "/usr/share/logstash/data/' in file_input
    gateway_dir = next(
        v.split(":")[1] for v in services["gateway"]["volumes"] if v.startswith("gateway-logs:")
    )
    logstash_dir = next(
        v.split(":")[1] for v in services["logstash"]["volumes"] if v.startswith("gateway-logs:")
    )
    nginx = (CONFIG_DIR / "nginx" / "nginx.conf").read_text()
    [log_name] = re.findall(r"access_log << log_dir >>/(\S+) ecs_json;", nginx)
    assert path == f"{logstash_dir}/{log_name}", f"{path} vs {gateway_dir}/{log_name}"


def test_the_output_creates_by_event_id_into_daily_indices() -> None:
    output = (LOGSTASH / "pipeline" / "30-output.conf").read_text()
    assert 'user => "logstash_internal"' in output
    assert 'action => "create"' in output
    assert 'document_id => "%{[@metadata][event_id]}"' in output
    assert 'index => "logs-%{[@metadata][dataset]}-%{+YYYY.MM.dd}"' in output
    filters = (LOGSTASH / "pipeline" / "20-filter.conf").read_text()
    datasets = set(re.findall(r'"\[@metadata\]\[dataset\]" => "(\w+)"', filters))
    assert datasets == set(elastic_setup.DATASETS), "every dataset the filter sets has a template"
    assert 'add_tag => ["error"]' in filters and ">= 500" in filters


# ---- the setup requests, from retention.yaml ----------------------------------------------


def test_ilm_and_slm_follow_the_retention_policy() -> None:
    logs = retention().logs
    policy = elastic_setup.ilm_policy(logs)["policy"]["phases"]
    assert policy["delete"]["min_age"] == logs.hot == "7d"
    assert policy["delete"]["actions"]["wait_for_snapshot"] == {
        "policy": elastic_setup.ARCHIVE_POLICY
    }
    slm = elastic_setup.slm_policy(logs)
    assert slm["repository"] == logs.archive.repository
    assert slm["retention"]["expire_after"] == logs.archive.keep
    for dataset in elastic_setup.DATASETS:
        template = elastic_setup.index_template(dataset, logs)
        assert template["index_patterns"] == [f"logs-{dataset}-*"]
        assert template["template"]["settings"]["index.lifecycle.name"] == logs.ilm_policy
        assert template["priority"] > 100, "above Elasticsearch's built-in logs-*-* template"


def test_a_changed_policy_changes_the_bodies() -> None:
    logs = Logs.model_validate(
        {"ilm_policy": "p", "hot": "2w", "archive": {"repository": "r", "keep": "1y"}}
    )
    requests = {r.path: r for r in elastic_setup.setup_requests(logs, repository_location="/x")}
    delete = requests["/_ilm/policy/p"].body["policy"]["phases"]["delete"]
    assert delete["min_age"] == "14d"  # Elasticsearch has no `w` unit
    assert requests["/_slm/policy/logs-archive"].body["retention"]["expire_after"] == "365d"
    assert requests["/_snapshot/r"].body["settings"]["location"] == "/x"
    with pytest.raises(ConfigError, match=r"logs.hot: '7x' is not a duration"):
        elastic_setup.es_duration("7x", key="logs.hot")


def test_the_roles_are_least_privilege() -> None:
    writer = elastic_setup.ROLES["logstash_writer"]
    [grant] = writer["indices"]
    assert not {"delete", "delete_index", "manage", "all", "write", "index"} & set(
        grant["privileges"]
    ), f"the shipper could delete or overwrite: {grant['privileges']}"
    reader = elastic_setup.ROLES["logs_reader"]
    assert {p for g in reader["indices"] for p in g["privileges"]} == {
        "read",
        "view_index_metadata",
    }


def test_the_rendered_requests_are_the_module_s(data_dir: Path) -> None:
    rendered = compose.compose_dir(data_dir) / "elasticsearch-setup" / "setup-requests.txt"
    location = f"{SNAPSHOTS_MOUNT}/{retention().logs.archive.repository}"
    expected = elastic_setup.requests_text(retention().logs, repository_location=location)
    assert rendered.read_text() == expected
    env = compose.compose_doc()["services"]["elasticsearch"]["environment"]
    assert location.startswith(env["path.repo"] + "/"), "the repository must be under path.repo"


@dataclass
class FakeES:
    """A stand-in Elasticsearch that records every request (method, path, body, auth)."""

    url: str = ""
    seen: list[tuple[str, str, str, str]] = field(default_factory=list)
    authenticate_status: int = 200  # what GET /_security/_authenticate answers


def _handler(fake: FakeES) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            auth = self.headers.get("Authorization", "")
            fake.seen.append((self.command, self.path, body, auth))
            status = fake.authenticate_status if self.path == "/_security/_authenticate" else 200
            payload = b'{"acknowledged":true}'
            self.send_response(status)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_PUT = do_POST = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def fake_es() -> Iterator[FakeES]:
    fake = FakeES()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield fake
    server.shutdown()
    server.server_close()


def _run_setup(url: str, data_dir: Path, tmp_path: Path) -> subprocess.Popen[str]:
    return start_setup(
        url,
        secrets_dir=data_dir / "secrets",
        requests_file=compose.compose_dir(data_dir) / "elasticsearch-setup" / "setup-requests.txt",
        snapshots_dir=tmp_path / "snapshots",
        ready_file=tmp_path / "ready",
    )


def test_the_setup_script_sends_every_request_with_the_secrets(
    fake_es: FakeES, data_dir: Path, tmp_path: Path
) -> None:
    proc = _run_setup(fake_es.url, data_dir, tmp_path)
    ready = tmp_path / "ready"
    deadline = time.monotonic() + 10
    while not ready.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    err = stop_setup(proc)  # it stays up once ready, as the compose service does
    assert ready.exists(), f"setup did not get ready (exit {proc.returncode}): {err}"
    requests = elastic_setup.setup_requests(
        retention().logs,
        repository_location=f"{SNAPSHOTS_MOUNT}/{retention().logs.archive.repository}",
    )

    def read(name: str) -> str:
        return (data_dir / "secrets" / name).read_text().strip()

    sent = [(m, p, json.loads(b)) for m, p, b, _ in fake_es.seen if m != "GET"]
    assert sent == [(r.method, r.path, r.resolve(read)) for r in requests]
    assert all(auth.startswith("Basic ") for *_, auth in fake_es.seen), "every call as elastic"


def test_the_setup_script_names_a_rotated_elastic_password(
    fake_es: FakeES, data_dir: Path, tmp_path: Path
) -> None:
    fake_es.authenticate_status = 401
    proc = _run_setup(fake_es.url, data_dir, tmp_path)
    try:
        _, err = proc.communicate(timeout=10)
    finally:
        stop_setup(proc)
    assert proc.returncode == 1 and "elasticsearch-reset-password" in err, err
    assert [m for m, *_ in fake_es.seen] == ["GET"], "nothing is sent with a refused password"


# ---- Kibana and Grafana ---------------------------------------------------------------------


def kibana_objects() -> list[dict[str, Any]]:
    return [json.loads(line) for line in KIBANA_OBJECTS.read_text().splitlines() if line.strip()]


def _mapped_fields() -> set[str]:
    found: set[str] = set()

    def walk(props: dict[str, Any], prefix: str) -> None:
        for key, spec in props.items():
            if "properties" in spec:
                walk(spec["properties"], f"{prefix}{key}.")
            else:
                found.add(prefix + key)
                found.update(f"{prefix}{key}.{sub}" for sub in spec.get("fields", {}))

    walk(elastic_setup.ECS_MAPPING, "")
    return found


def test_kibana_objects_reference_each_other() -> None:
    objects = kibana_objects()
    ids = {(o["type"], o["id"]) for o in objects}
    assert len(ids) == len(objects), "ids must be unique (import overwrites by id)"
    for o in objects:
        for ref in o["references"]:
            assert (ref["type"], ref["id"]) in ids, f"{o['id']} references a missing {ref}"
    by_title = {o["attributes"]["title"]: o for o in objects}
    assert by_title["logs-*"]["type"] == "index-pattern"
    assert by_title["logs-*"]["attributes"]["timeFieldName"] == "@timestamp"
    search = json.loads(
        by_title["Errors"]["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"]
    )
    assert search["query"] == {"query": "tags:error", "language": "kuery"}
    dashboard = by_title["Logs overview"]
    panels = json.loads(dashboard["attributes"]["panelsJSON"])
    names = {r["name"] for r in dashboard["references"]}
    assert {p["panelRefName"] for p in panels} == names and len(panels) == 5


def test_every_kibana_panel_queries_mapped_fields() -> None:
    mapped = _mapped_fields()
    for o in kibana_objects():
        if o["type"] != "visualization":
            continue
        spec = json.loads(json.loads(o["attributes"]["visState"])["params"]["spec"])
        url = spec["data"]["url"]
        assert url["index"].startswith("logs-") and url["%timefield%"] == "@timestamp"
        used = set(re.findall(r'"field": "([^"]+)"', json.dumps(url["body"])))
        used |= set(re.findall(r'"term": \{"([^"]+)"', json.dumps(url["body"])))
        assert used and used <= mapped, f"{o['attributes']['title']}: unmapped {used - mapped}"


def test_grafana_logs_dashboard_uses_the_provisioned_elasticsearch() -> None:
    provisioned = yaml.safe_load(
        (GRAFANA / "provisioning" / "datasources" / "elasticsearch.yaml").read_text()
    )
    [ds] = provisioned["datasources"]
    assert ds["type"] == "elasticsearch" and ds["basicAuthUser"] == "logs_reader"
    assert ds["jsonData"]["timeField"] == "@timestamp"
    model = json.loads(LOGS_DASHBOARD.read_text())
    assert model["uid"] == "logs" and len(model["panels"]) == 5
    mapped = _mapped_fields()
    for panel in model["panels"]:
        for target in panel["targets"]:
            assert target["datasource"] == {"type": "elasticsearch", "uid": ds["uid"]}
            fields = {m["field"] for m in target["metrics"] if "field" in m}
            fields |= {b["field"] for b in target["bucketAggs"]}
            assert fields <= mapped, f"{panel['title']}: unmapped {fields - mapped}"
    grafana = compose.compose_doc()["services"]["grafana"]
    assert "logs_reader_password" in grafana["secrets"]


def test_compose_mounts_are_consistent(services: dict[str, dict[str, Any]]) -> None:
    kibana_setup = services["kibana-setup"]
    assert "./stack/config/kibana:/etc/kibana-setup:ro" in kibana_setup["volumes"]
    assert kibana_setup["environment"]["OBJECTS_FILE"].endswith(KIBANA_OBJECTS.name)
    volumes = copy.deepcopy(compose.compose_doc()["volumes"])
    for name in ("elasticsearch", "elasticsearch-snapshots", "logstash"):
        assert name in volumes, name
    for name in ELK:
        assert name in services, name
