"""Prometheus' scrape configuration agrees with the topology: every job's file_sd file is
written, and each job logs in the way its components' metrics endpoints expect."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stack.contracts import BLACKBOX_HTTP_JOB, alert_webhook_url, file_sd_groups, scrape_jobs
from stack.paths import CONFIG_DIR, DataDir
from stack.render import render_text
from stack.runtimes.local.launcher import Context
from stack.runtimes.local.programs import LAUNCHERS
from stack.secrets import ensure
from stack.topology import Metrics, build, topology
from tests.programs import needs, run


def rendered_prometheus() -> dict:
    source = CONFIG_DIR / "prometheus" / "prometheus.yml"
    text = render_text(
        source.read_text(),
        {
            "scrape_interval": "5s",
            "stack_name": "t",
            "secrets_dir": "/s",
            "targets_dir": "/t",
            "rules_dir": "/r",
            "blackbox_address": "127.0.0.1:9115",
        },
        source=str(source),
    )
    return yaml.safe_load(text)


def test_each_job_logs_in_as_its_components_expect() -> None:
    jobs = {job["job_name"]: job for job in rendered_prometheus()["scrape_configs"]}
    for c in topology():
        if c.metrics is None:
            continue
        job = jobs["services" if c.service else c.metrics.job]
        if c.metrics.bearer_secret:
            expected = f"/s/{c.metrics.bearer_secret}"
            assert job["authorization"]["credentials_file"] == expected, c.name
        else:
            assert c.metrics.basic_auth is not None, f"{c.name}: metrics without any login"
            assert job["basic_auth"]["username"] == c.metrics.basic_auth.username, c.name
            assert job["basic_auth"]["password_file"] == f"/s/{c.metrics.basic_auth.secret}"


def test_every_job_has_a_file_and_services_get_their_own_job_label() -> None:
    groups = file_sd_groups(topology().units())
    assert set(groups) == set(scrape_jobs())
    services = {g["labels"]["component"]: g["labels"]["job"] for g in groups["services"]}
    assert services["games-1"] == services["games-2"] == "games"
    assert services["auth"] == "auth"
    probes = [t for g in groups[BLACKBOX_HTTP_JOB] for t in g["targets"]]
    assert "http://127.0.0.1:8080/health" in probes


def test_the_webhook_goes_to_the_status_service() -> None:
    url = alert_webhook_url(topology(), lambda c: c.url())
    assert url == "http://127.0.0.1:8401/api/v1/alerts"


def test_metrics_take_one_login_only() -> None:
    with pytest.raises(ValueError, match="basic_auth or bearer_secret, not both"):
        Metrics(job="x", bearer_secret="metrics_token")


def test_the_metrics_gate_config_is_valid_nginx(tmp_path: Path) -> None:
    topo = build(environ={}).units()
    data = DataDir(tmp_path)
    ctx = Context(data, ensure(data.secrets, data_exists=False), topo)
    gate = topo.get("metrics-gate")
    LAUNCHERS["metrics_gate"].prepare(ctx, gate)
    conf = data.component_config("metrics-gate") / "nginx.conf"
    text = conf.read_text()
    for name in ("rabbitmq", "nginx-exporter"):
        assert f"http://unix:{data.metrics_socket(name)}:" in text
    assert "listen 127.0.0.1:15692;" in text and "listen 127.0.0.1:9113;" in text
    prefix = data.component_data("metrics-gate")
    run([needs("nginx"), "-t", "-p", str(prefix), "-c", str(conf)])


def test_the_target_profiles_say_how_to_reach_each_metrics_endpoint(tmp_path: Path) -> None:
    from stack.contracts import target_profile
    from stack.runtimes import compose

    local = target_profile(
        topology().units(), secrets_dir=tmp_path, project_dir=tmp_path, data_dir=tmp_path
    )["components"]
    assert local["auth"]["metrics"] == {
        "url": "http://127.0.0.1:8101/metrics",
        "bearer_file": str(tmp_path / "metrics_token"),
    }
    assert local["rabbitmq"]["metrics"]["username"] == "admin"
    assert local["games-2"]["admin_token_file"] == str(tmp_path / "admin_token")
    published = compose.target_profile(
        compose.standard_topology(), secrets_dir=tmp_path, project_dir=tmp_path
    )["components"]
    # RabbitMQ's metrics port stays on the compose network: nothing to reach from outside.
    assert "metrics" not in published["rabbitmq"]
    assert published["grafana"]["viewer"]["username"] == "viewer"
