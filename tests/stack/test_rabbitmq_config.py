"""RabbitMQ's rendered config, without running it: the management UI on loopback at the
topology's (movable) port, the read-only `monitoring` user beside `stack`, no `guest`, and
the same users in the compose runtime. tests/stack/test_rabbitmq_management.py runs the
real broker."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

from stack.cli_output import secret_entries
from stack.paths import DataDir
from stack.runtimes import compose
from stack.runtimes.local import rabbitmq
from stack.secrets import Secrets, ensure
from stack.topology import build


def _prepared(tmp_path: Path, environ: dict[str, str]) -> tuple[DataDir, Secrets]:
    data = DataDir(tmp_path / "data")
    secrets = ensure(data.secrets, data_exists=False)
    topology = build(environ=environ)
    rabbitmq.prepare(
        data, topology.get("rabbitmq"), topology.get("epmd"), secrets, syslog_port=None
    )
    return data, secrets


def _matches(password_hash: str, password: str) -> bool:
    raw = base64.b64decode(password_hash)
    salt, digest = raw[:4], raw[4:]
    return hashlib.sha256(salt + password.encode()).digest() == digest


def test_the_management_ui_listens_on_loopback_at_the_topology_s_port(tmp_path: Path) -> None:
    data, _ = _prepared(tmp_path, {"STACK_PORT_RABBITMQ_MANAGEMENT": "25999"})
    conf = data.component_config("rabbitmq")
    settings = (conf / "rabbitmq.conf").read_text().splitlines()
    assert "management.tcp.ip = 127.0.0.1" in settings
    assert "management.tcp.port = 25999" in settings
    assert (conf / "enabled_plugins").read_text() == (
        "[rabbitmq_prometheus,rabbitmq_management].\n"
    )


def test_monitoring_is_read_only_and_there_is_no_guest(tmp_path: Path) -> None:
    data, secrets = _prepared(tmp_path, {})
    path = data.component_config("rabbitmq") / "definitions.json"
    assert path.stat().st_mode & 0o777 == 0o600
    definitions = json.loads(path.read_text())
    users = {u["name"]: u for u in definitions["users"]}
    assert set(users) == {"stack", "monitoring"}  # no guest
    assert users["stack"]["tags"] == ["administrator"]
    assert users["monitoring"]["tags"] == ["monitoring"]
    for name, secret in [
        ("stack", "rabbitmq_password"),
        ("monitoring", "rabbitmq_monitoring_password"),
    ]:
        assert _matches(users[name]["password_hash"], secrets.read(secret)), name
    assert secrets.read("rabbitmq_monitoring_password") != secrets.read("rabbitmq_password")
    permissions = {p["user"]: p for p in definitions["permissions"]}
    assert permissions["monitoring"] == {
        "user": "monitoring",
        "vhost": "/",
        "configure": "^$",
        "write": "^$",
        "read": ".*",
    }
    assert permissions["stack"]["configure"] == permissions["stack"]["write"] == ".*"


def test_an_unchanged_password_renders_nothing_new(tmp_path: Path) -> None:
    data, secrets = _prepared(tmp_path, {})
    topology = build(environ={})
    again = rabbitmq.prepare(
        data, topology.get("rabbitmq"), topology.get("epmd"), secrets, syslog_port=None
    )
    assert again is False  # `up` twice restarts nothing


def test_compose_imports_the_same_users(tmp_path: Path) -> None:
    data, secrets = _prepared(tmp_path, {})
    compose.render(data.root, secrets)
    rendered = compose.compose_dir(data.root) / "rabbitmq"
    local = data.component_config("rabbitmq") / "definitions.json"
    assert json.loads((rendered / "definitions.json").read_text()) == json.loads(local.read_text())
    conf = (rendered / "definitions.conf").read_text()
    assert "definitions.local.path = /etc/rabbitmq/definitions.json" in conf


def test_secrets_names_the_ui_for_the_monitoring_login() -> None:
    entries = secret_entries(build(environ={}), Path("/s"))
    rabbit = {e["user"]: e for e in entries if e["component"] == "rabbitmq"}
    assert rabbit["stack"]["url"] == "amqp://127.0.0.1:5672"
    assert rabbit["monitoring"]["url"] == "http://127.0.0.1:15672"
    assert rabbit["monitoring"]["password_file"] == "/s/rabbitmq_monitoring_password"
    assert rabbit["monitoring"]["urls"] == ["amqp://127.0.0.1:5672", "http://127.0.0.1:15672"]
