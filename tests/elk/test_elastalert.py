"""Log alerts: ElastAlert2 (stack/config/elastalert/, stack/runtimes/local/elastalert.py).

Fast: ElastAlert2's own loader (from its virtualenv) accepts the rendered config and every rule,
and refuses a broken one; each rule's labels take the Alertmanager route its severity promises.
Integration: logstore, Alertmanager and the real ElastAlert2 process; a burst of error events
in logs-app-<today> becomes an ErrorSpike alert in Alertmanager's API.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from grader.polling import poll_until
from stack import secrets
from stack.paths import CONFIG_DIR, DataDir
from stack.render import render_text
from stack.runtimes import compose
from stack.runtimes.compose.render import ELASTALERT_RULES_MOUNT
from stack.runtimes.local import elastalert
from stack.runtimes.local.runtime import LocalRuntime
from stack.topology import Topology, build, offset_ports
from tests.programs import needs, run

PORTS = offset_ports(18000)
RULE_NAMES = {"ErrorSpike", "SystemFailure", "PerformanceDegradation"}
# run_every (2 s locally) + ElastAlert2's own jitter (up to 5 s) + a first run after start:
# 2-15 s measured; the margin is for a loaded CI machine.
ALERT_TIMEOUT = 60
# Loads the config and its rules the way `elastalert` does at start (config.load_conf, then
# the rules loader), without a search: prints what each rule became.
LOAD_RULES = r"""
import json, sys
from argparse import Namespace
from elastalert.config import load_conf
args = Namespace(config=sys.argv[1], rule=None, verbose=False, debug=False, es_debug=False,
                 es_debug_trace=None)
try:
    conf = load_conf(args)
    rules = conf["rules_loader"].load(conf, args)
except Exception as exc:  # its jsonschema errors go on with the whole schema: the head says it
    sys.exit("\n".join(str(exc).splitlines()[:4]))
print(json.dumps([{
    "name": r["name"], "type": type(r["type"]).__name__, "index": r["index"],
    "labels": r.get("alertmanager_labels"), "hosts": r["alertmanager_hosts"],
    "api": r["alertmanager_api_version"], "alerters": [type(a).__name__ for a in r["alert"]],
    "percentile": r.get("percentile_range"), "max_threshold": r.get("max_threshold"),
} for r in rules]))
"""


@pytest.fixture(scope="module")
def venv() -> Path:
    elastalert.ensure_venv()  # a no-op once the shared virtualenv is complete
    return elastalert.venv_python()


def _render(tmp: Path) -> tuple[DataDir, Topology, Path]:
    data = DataDir(tmp)
    topology = build(environ=PORTS).units()
    c = topology.get("elastalert")
    elastalert.prepare(data, c, topology, secrets.ensure(data.secrets, data_exists=False))
    return data, topology, elastalert.conf_path(data, c)


def _load_rules(python: Path, config: Path) -> list[dict[str, Any]]:
    done = subprocess.run(
        [str(python), "-P", "-c", LOAD_RULES, str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"ElastAlert2 refused {config}:\n{done.stderr[-3000:]}"
    return list(json.loads(done.stdout.splitlines()[-1]))


def test_the_rendered_config_holds_the_ports_and_is_private(tmp_path: Path) -> None:
    _, topology, conf = _render(tmp_path)
    assert conf.stat().st_mode & 0o777 == 0o600, "the config holds two passwords: mode 600"
    loaded = yaml.safe_load(conf.read_text())
    assert loaded["es_port"] == topology.get("logstore").port
    assert loaded["alertmanager_hosts"] == [topology.get("alertmanager").url()]
    assert loaded["es_username"] == elastalert.USER
    assert (
        loaded["es_password"] == (tmp_path / "secrets" / "elastalert_password").read_text().strip()
    )


def test_elastalert_loads_every_rule(tmp_path: Path, venv: Path) -> None:
    _, topology, conf = _render(tmp_path)
    rules = {r["name"]: r for r in _load_rules(venv, conf)}
    assert set(rules) == RULE_NAMES
    for rule in rules.values():
        assert rule["alerters"] == ["AlertmanagerAlerter"], rule
        assert rule["hosts"] == [topology.get("alertmanager").url()] and rule["api"] == "v2"
    assert rules["ErrorSpike"]["type"] == "FrequencyRule"
    assert rules["ErrorSpike"]["index"] == "logs-app-*"
    assert rules["SystemFailure"]["index"] == "logs-system-*"
    slow = rules["PerformanceDegradation"]
    assert (slow["type"], slow["percentile"]) == ("MetricAggregationRule", 95)
    assert slow["max_threshold"] == 1_000_000_000, "1 s in event.duration's nanoseconds"


def test_compose_gets_the_same_rules_with_compose_addresses(tmp_path: Path, venv: Path) -> None:
    compose.render(tmp_path, secrets.ensure(tmp_path / "secrets", data_exists=False))
    conf = compose.compose_dir(tmp_path) / "elastalert" / "config.yaml"
    assert conf.stat().st_mode & 0o777 == 0o444, "read by the image's uid, inside the 0700 dir"
    loaded = yaml.safe_load(conf.read_text())
    assert (loaded["es_host"], loaded["es_port"]) == ("elasticsearch", 9200)
    assert loaded["rules_folder"] == ELASTALERT_RULES_MOUNT
    assert loaded["run_every"] == {"seconds": 60}
    # compose.yaml mounts stack/config/elastalert/rules there; here they are read in place.
    local = tmp_path / "local.yaml"
    local.write_text(yaml.safe_dump(loaded | {"rules_folder": str(elastalert.RULES_DIR)}))
    rules = _load_rules(venv, local)
    assert {r["name"] for r in rules} == RULE_NAMES
    assert {h for r in rules for h in r["hosts"]} == {"http://alertmanager:9093"}


def test_elastalert_refuses_a_broken_rule(tmp_path: Path, venv: Path) -> None:
    """The loader above is a real check: a rule ElastAlert2 cannot run fails it, by name."""
    _, _, conf = _render(tmp_path)
    rules = tmp_path / "rules"
    shutil.copytree(elastalert.RULES_DIR, rules)
    broken = yaml.safe_load((rules / "slow_responses.yaml").read_text())
    broken["metric_agg_type"] = "p95"
    (rules / "slow_responses.yaml").write_text(yaml.safe_dump(broken))
    config = yaml.safe_load(conf.read_text()) | {"rules_folder": str(rules)}
    conf.write_text(yaml.safe_dump(config))
    with pytest.raises(AssertionError, match=r"(?s)refused.*slow_responses\.yaml.*p95"):
        _load_rules(venv, conf)


@pytest.mark.parametrize(
    ("rule", "receiver"),
    [("error_spike", "webhook"), ("system_failure", "critical"), ("slow_responses", "webhook")],
)
def test_each_rule_takes_the_route_of_its_severity(
    tmp_path: Path, rule: str, receiver: str
) -> None:
    amtool = needs("amtool")
    config = tmp_path / "alertmanager.yml"
    template = (CONFIG_DIR / "alertmanager" / "alertmanager.yml").read_text()
    values = {
        "smtp_host": "127.0.0.1",
        "smtp_port": 25,
        "group_wait": "5s",
        "group_interval": "10s",
        "webhook_url": "http://127.0.0.1:1/",
        "webhook_token_file": tmp_path / "token",
    }
    config.write_text(render_text(template, values))
    spec = yaml.safe_load((elastalert.RULES_DIR / f"{rule}.yaml").read_text())
    labels = [
        f"{k}={v}" for k, v in {**spec["alertmanager_labels"], "alertname": spec["name"]}.items()
    ]
    routed = run([amtool, "config", "routes", "test", f"--config.file={config}", *labels])
    assert routed.split() == [receiver], f"{spec['name']} {labels} went to {routed!r}"


# ---- integration ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, venv: Path) -> Iterator[LocalRuntime]:
    data = DataDir(tmp_path_factory.mktemp("elastalert-stack"))
    runtime = LocalRuntime(data, build(environ=PORTS))
    runtime.up(only=["elastalert"])
    yield runtime
    runtime.down(purge=True)


def _password(stack: LocalRuntime, name: str) -> str:
    return (stack.data.secrets / name).read_text().strip()


def _index_errors(stack: LocalRuntime, service: str, count: int) -> None:
    event = {
        "log": {"level": "error"},
        "tags": ["error"],
        "service": {"name": service},
        "event": {"dataset": "app"},
    }
    _index(stack, "app", [{**event, "message": f"burst error {i}"} for i in range(count)])


def _index(stack: LocalRuntime, dataset: str, events: list[dict[str, Any]]) -> None:
    """Into today's `logs-<dataset>-*` index, as the shipper writes them."""
    now = datetime.now(UTC)
    index = f"logs-{dataset}-{now:%Y.%m.%d}"
    stamp = now.isoformat().replace("+00:00", "Z")
    lines: list[str] = []
    for event in events:
        lines += [json.dumps({"create": {}}), json.dumps({"@timestamp": stamp, **event})]
    reply = httpx.post(
        f"{stack.topology.get('logstore').url()}/{index}/_bulk?refresh=true",
        content="\n".join(lines) + "\n",
        headers={"content-type": "application/x-ndjson"},
        auth=("logstash_internal", _password(stack, "logstash_internal_password")),
        timeout=10,
    )
    assert reply.status_code == 200 and not reply.json()["errors"], reply.text


def _alerts(stack: LocalRuntime, alertname: str) -> list[dict[str, Any]]:
    reply = httpx.get(
        stack.topology.get("alertmanager").url(path="/api/v2/alerts"),
        auth=("admin", _password(stack, "admin_password")),
        timeout=5,
    )
    reply.raise_for_status()
    return [a for a in reply.json() if a["labels"].get("alertname") == alertname]


@pytest.mark.integration
def test_an_error_burst_becomes_an_error_spike_alert(stack: LocalRuntime) -> None:
    service = f"burst-{uuid.uuid4().hex[:8]}"  # our marker: the alert must name it
    _index_errors(stack, service, count=25)
    alerts = poll_until(
        lambda: [a for a in _alerts(stack, "ErrorSpike") if a["labels"].get("service") == service],
        f"an ErrorSpike alert for service {service} in Alertmanager",
        timeout=ALERT_TIMEOUT,
    )
    labels = alerts[0]["labels"]
    assert labels["severity"] == "warning" and labels["source"] == "elastalert", labels


@pytest.mark.integration
def test_a_few_errors_raise_no_alert(stack: LocalRuntime) -> None:
    quiet = f"quiet-{uuid.uuid4().hex[:8]}"
    _index_errors(stack, quiet, count=5)
    loud = f"burst-{uuid.uuid4().hex[:8]}"
    _index_errors(stack, loud, count=25)
    # Once the burst after it has alerted, the rule has seen the quiet service's events too.
    poll_until(
        lambda: [a for a in _alerts(stack, "ErrorSpike") if a["labels"].get("service") == loud],
        f"an ErrorSpike alert for service {loud}",
        timeout=ALERT_TIMEOUT,
    )
    named = [a["labels"].get("service") for a in _alerts(stack, "ErrorSpike")]
    assert quiet not in named, f"5 errors are under the threshold of 20, yet alerts: {named}"


@pytest.mark.integration
def test_a_critical_system_line_and_slow_requests_alert(stack: LocalRuntime) -> None:
    host = f"host-{uuid.uuid4().hex[:8]}"
    line = {"message": "kernel: disk failure", "log": {"level": "critical"}, "host": {"name": host}}
    # A clean PostgreSQL stop's FATAL lines, on a host of their own, before the real failure.
    stopped = f"stopped-{uuid.uuid4().hex[:8]}"
    shutdown = {
        "message": "FATAL:  terminating connection due to administrator command",
        "log": {"level": "fatal"},
        "host": {"name": stopped},
    }
    _index(stack, "system", [{**shutdown, "event": {"dataset": "system"}}])
    _index(stack, "system", [{**line, "event": {"dataset": "system"}}])
    two_seconds = 2_000_000_000  # event.duration is in nanoseconds
    slow = {"event": {"dataset": "access", "duration": two_seconds}, "url": {"path": "/slow"}}
    _index(stack, "access", [slow] * 30)
    failure = poll_until(
        lambda: [a for a in _alerts(stack, "SystemFailure") if a["labels"].get("host") == host],
        f"a SystemFailure alert for host {host}",
        timeout=ALERT_TIMEOUT,
    )
    assert failure[0]["labels"]["severity"] == "critical", failure[0]["labels"]
    planned = [a for a in _alerts(stack, "SystemFailure") if a["labels"].get("host") == stopped]
    assert not planned, f"a clean stop's FATAL lines are planned work, yet alerts: {planned}"
    poll_until(
        lambda: _alerts(stack, "PerformanceDegradation"),
        "a PerformanceDegradation alert for 30 requests of 2 s (threshold: p95 above 1 s)",
        timeout=ALERT_TIMEOUT,
    )


@pytest.mark.integration
def test_its_metrics_are_behind_the_gate(stack: LocalRuntime) -> None:
    url = stack.topology.get("elastalert").url(path="/metrics")
    assert httpx.get(url, timeout=5).status_code == 401, "the gate must ask for a password"
    reply = httpx.get(url, auth=("admin", _password(stack, "admin_password")), timeout=5)
    assert (
        reply.status_code == 200
        and 'elastalert_scrapes_total{rule_name="ErrorSpike"}' in reply.text
    ), reply.text[:500]
