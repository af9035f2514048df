"""How the stack runs the status service: its topology entry, the local launcher's
environment, the compose runtime's probe list, the gateway's upstream (no programs run)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from status_service.alertmanager import AlertSource
from status_service.units import load_profile, load_units

from stack.errors import ConfigError
from stack.gateway import upstream_values
from stack.paths import DataDir
from stack.runtimes.compose.render import standard_topology, status_targets
from stack.runtimes.local.launcher import Context
from stack.runtimes.local.services import Service
from stack.secrets import Secrets
from stack.topology import _COMPONENTS, SERVICE_DATABASES, build


def test_the_topology_entry() -> None:
    status = build(environ={}).get("status")
    assert (status.port, status.depends_on, status.health.path) == (8401, ("postgres",), "/health")
    assert status.service is not None
    assert status.service.files == {"TARGETS_FILE": "target", "POLICY_FILE": "policy"}


def test_an_unknown_stack_file_is_named() -> None:
    entries = [dict(c) for c in _COMPONENTS]
    status = next(c for c in entries if c["name"] == "status")
    status["service"] = {**status["service"], "files": {"TARGETS_FILE": "nope"}}  # type: ignore[dict-item]
    with pytest.raises(ConfigError, match=r"status\.service.*TARGETS_FILE 'nope' is not one of"):
        build(entries, environ={})


def test_the_launcher_passes_the_target_file_and_no_broker(tmp_path: Path) -> None:
    topology = build(environ={}).units()
    data = DataDir(tmp_path)
    ctx = Context(data, Secrets(data.secrets), topology)
    env = Service().program(ctx, topology.get("status")).env
    assert env["TARGETS_FILE"] == str(data.target_file)
    assert env["DATABASE_URL"].endswith("@127.0.0.1:5432/status")
    assert "RABBITMQ_URL" not in env  # it does not use the broker
    assert "RABBITMQ_URL" in Service().program(ctx, topology.get("users")).env


def test_the_launcher_gives_it_the_mailbox_smtp_port_and_no_dependency(tmp_path: Path) -> None:
    """Subscribers' email goes to the mail catcher; the page starts without it all the same."""
    topology = build(environ={}).units()
    data = DataDir(tmp_path)
    ctx = Context(data, Secrets(data.secrets), topology)
    env = Service().program(ctx, topology.get("status")).env
    assert env["SMTP_ADDRESS"] == f"127.0.0.1:{topology.get('mailbox').ports['smtp']}"
    assert "mailbox" not in topology.get("status").depends_on
    assert "SMTP_ADDRESS" not in Service().program(ctx, topology.get("users")).env


def test_compose_probes_use_service_names_and_docker_secrets(tmp_path: Path) -> None:
    path = tmp_path / "target.yaml"
    path.write_text(yaml.safe_dump(status_targets(standard_topology())))
    units = {u.name: u for u in load_units(path, self_name="status")}
    assert getattr(units["users"].probe, "url", None) == "http://users:8201/health"
    assert units["status"].probe is None  # itself: judged in-process
    postgres = [u for u in units.values() if u.component == "postgres"]
    assert {u.name for u in postgres} == {
        f"postgres-{d}" for d in SERVICE_DATABASES
    }
    assert all(
        str(getattr(u.probe, "password_file", "")).startswith("/run/secrets/") for u in postgres
    )


def test_the_gateway_routes_to_it() -> None:
    values = upstream_values(build(environ={}), lambda c: [f"127.0.0.1:{c.port}"])
    assert values["upstreams"]["status"] == ["127.0.0.1:8401"]


def test_both_runtimes_tell_the_status_service_where_alertmanager_is(tmp_path: Path) -> None:
    path = tmp_path / "target.yaml"
    path.write_text(yaml.safe_dump(status_targets(standard_topology())))
    assert load_profile(path, self_name="status").alerts == AlertSource(
        "http://alertmanager:9093", "admin", Path("/run/secrets/admin_password")
    )
    local = {
        "monitoring": {"alertmanager": "am"},
        "components": {
            "am": {
                "urls": {"main": "http://127.0.0.1:19093"},
                "probe": {"kind": "http", "url": "http://127.0.0.1:19093/-/ready",
                          "username": "admin", "password_file": "secrets/admin_password"},
            },
        },
    }  # fmt: skip
    path.write_text(yaml.safe_dump(local))
    assert load_profile(path, self_name="status").alerts == AlertSource(
        "http://127.0.0.1:19093", "admin", tmp_path / "secrets" / "admin_password"
    )
    del local["monitoring"]
    path.write_text(yaml.safe_dump(local))
    assert load_profile(path, self_name="status").alerts is None  # no `alertmanager` component
