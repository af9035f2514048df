"""The console against a real Prometheus (the Debian package's binary), behind basic auth for
the console's user: real PromQL errors, and the 11,000-point limit Prometheus enforces."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from console.testing import ADMIN, PROMETHEUS_USER, SECRETS, Console, start_console
from logstore.testing import Server, free_port

pytestmark = pytest.mark.integration
PROM = {"type": "prometheus", "uid": "prometheus"}


@pytest.fixture(scope="module")
def real_console(tmp_path_factory: pytest.TempPathFactory, logstore: Server
                 ) -> Iterator[Console]:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("needs the Debian package prometheus")
    bcrypt = pytest.importorskip("bcrypt")
    tmp: Path = tmp_path_factory.mktemp("real-prometheus")
    password = SECRETS["console_prometheus_password"]
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
    (tmp / "web.yml").write_text(yaml.safe_dump({"basic_auth_users": {PROMETHEUS_USER: hashed}}))
    port = free_port()
    (tmp / "prometheus.yml").write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s"},
        "scrape_configs": [{
            "job_name": "prometheus",
            "basic_auth": {"username": PROMETHEUS_USER, "password": password},
            "static_configs": [{"targets": [f"127.0.0.1:{port}"]}],
        }],
    }))
    proc = subprocess.Popen(
        [binary, f"--config.file={tmp / 'prometheus.yml'}", f"--web.config.file={tmp / 'web.yml'}",
         f"--storage.tsdb.path={tmp / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=(tmp / "prometheus.log").open("w"),
    )
    console = start_console(tmp, prometheus_url=f"http://127.0.0.1:{port}",
                            logstore_url=logstore.url)
    try:
        yield console
    finally:
        console.stop()
        proc.terminate()
        proc.wait(timeout=15)


def _query(console: Console, expr: str, span: str = "now-5m", **extra: object) -> httpx.Response:
    body = {"from": span, "to": "now",
            "queries": [{"refId": "A", "datasource": PROM, "expr": expr, **extra}]}
    return httpx.post(console.grafana + "/api/ds/query", json=body, auth=ADMIN, timeout=30)


def _wait_for_range_points(console: Console) -> list[float]:
    deadline = time.monotonic() + 45
    last: object = None
    while time.monotonic() < deadline:
        answer = _query(console, 'up{job="prometheus"}', legendFormat="{{job}}")
        frames = answer.json()["results"]["A"].get("frames") or []
        if frames and frames[0]["data"]["values"][1]:
            return list(frames[0]["data"]["values"][1])
        last = answer.text
        time.sleep(0.5)
    raise AssertionError(f"no point of up{{job='prometheus'}} within 45 s; last answer {last}")


def test_range_query_through_a_real_prometheus(real_console: Console) -> None:
    assert set(_wait_for_range_points(real_console)) == {1.0}
    instant = _query(real_console, "up", instant=True, range=False).json()["results"]["A"]
    [frame] = instant["frames"]
    assert frame["data"]["values"][1] == [1.0]


def test_a_real_parse_error_is_shown(real_console: Console) -> None:
    answer = _query(real_console, "sum(rate(up[5m])")
    assert answer.status_code == 400
    assert "parse error" in answer.json()["results"]["A"]["error"]


def test_thirty_days_at_one_second_stay_under_prometheus_limit(real_console: Console) -> None:
    answer = _query(real_console, "up", span="now-30d", intervalMs=1000, maxDataPoints=10**6)
    assert answer.status_code == 200, answer.text
    assert "error" not in answer.json()["results"]["A"]


def test_label_values_from_a_real_prometheus(real_console: Console) -> None:
    answer = httpx.get(
        real_console.grafana
        + "/api/datasources/uid/prometheus/resources/api/v1/label/job/values",
        auth=ADMIN, timeout=30,
    )
    assert answer.status_code == 200
    assert "prometheus" in answer.json()["data"]
