"""The shipper-exporter's file reading, auth and wiring, with a fake stats file (the real
rsyslogd is in test_shipper_metrics.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from shipper_exporter.__main__ import main
from shipper_exporter.app import StatsFile, create_app
from starlette.testclient import TestClient

from stack.contracts import file_sd_groups
from stack.monitoring_profiles import rendered_rules
from stack.runtimes.compose import standard_topology
from stack.runtimes.compose.render import service_addresses
from stack.runtimes.local.shipper import STATS_INTERVAL_SECONDS
from stack.topology import build

LINE = (
    'Fri Dec  4 15:28:{s:02d} 2026: {{ "name": "to-logstore queue", "origin": "core.queue", '
    '"size": {size}, "enqueued": 90 }}\n'
)


def line(size: int, second: int = 0) -> bytes:
    return LINE.format(size=size, s=second).encode()


def queue_size(stats: StatsFile) -> float | None:
    stats.poll()
    found = stats.snapshot.objects.get(("core.queue", "to-logstore queue"))
    return found.values["size"] if found else None


def test_a_half_written_line_waits_for_its_end(tmp_path: Path) -> None:
    path = tmp_path / "impstats.json"
    whole = line(7)
    path.write_bytes(whole[:40])
    stats = StatsFile(path)
    assert queue_size(stats) is None and stats.snapshot.bad_lines == 0
    with path.open("ab") as f:
        f.write(whole[40:])
    assert queue_size(stats) == 7 and stats.snapshot.bad_lines == 0


def test_the_file_is_truncated_past_its_limit_and_read_again_from_the_start(
    tmp_path: Path,
) -> None:
    path = tmp_path / "impstats.json"
    path.write_bytes(line(1) * 3)
    stats = StatsFile(path, max_bytes=len(line(1)) * 2)
    assert queue_size(stats) == 1
    assert path.stat().st_size == 0, "read past max_bytes: the file should be emptied"
    # rsyslog writes with O_APPEND: its next line lands at offset 0
    with path.open("ab") as f:
        f.write(line(2))
    assert queue_size(stats) == 2
    # the first read took the last two lines (its limit), the second the new one
    assert (stats.snapshot.lines, stats.snapshot.bad_lines) == (3, 0)


def test_an_old_big_file_is_read_from_its_tail_only(tmp_path: Path) -> None:
    path = tmp_path / "impstats.json"
    path.write_bytes(b"".join(line(n, second=n) for n in range(50)))
    stats = StatsFile(path, max_bytes=len(line(0)) * 3 + 10)
    assert queue_size(stats) == 49
    # the cut line before the tail is skipped, not counted as bad
    assert (stats.snapshot.lines, stats.snapshot.bad_lines) == (3, 0)


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    path = tmp_path / "impstats.json"
    path.write_bytes(line(5))
    app = create_app(StatsFile(path), tokens=["scrape-token", "admin-token"], poll_seconds=60)
    return TestClient(app)


def test_health_is_anonymous_and_metrics_need_a_token(client: TestClient) -> None:
    assert client.get("/health").status_code == 200
    anonymous = client.get("/metrics")
    assert anonymous.status_code == 401, anonymous.text
    assert anonymous.headers["www-authenticate"] == 'Bearer realm="metrics"'
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 403
    basic = client.get("/metrics", headers={"Authorization": "Basic YWRtaW46eA=="})
    assert basic.status_code == 401
    for token in ("scrape-token", "admin-token"):
        ok = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200, ok.text
        assert 'rsyslog_queue_size{name="to-logstore queue"} 5.0' in ok.text


def test_an_empty_token_file_stops_the_exporter_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "metrics_token"
    empty.write_text("\n")
    argv = ["--listen", "127.0.0.1:26999", "--stats-file", str(tmp_path / "s.json")]
    assert main([*argv, "--token-file", str(empty)]) == 2
    assert f"--token-file {empty} is empty" in capsys.readouterr().err
    assert main([*argv, "--token-file", str(tmp_path / "absent")]) == 2
    assert "cannot read it" in capsys.readouterr().err


def test_prometheus_finds_the_exporter_locally_and_nothing_in_compose() -> None:
    """The shipper's job: rsyslog's counters (the exporter) and the forwarder's own."""
    local = file_sd_groups(build(environ={}).units())["shipper"]
    assert sorted(local, key=lambda g: g["targets"]) == [
        {"targets": ["127.0.0.1:9105"], "labels": {"component": "shipper-exporter"}},
        {"targets": ["127.0.0.1:9106"], "labels": {"component": "log-forwarder"}},
    ]
    compose = file_sd_groups(standard_topology(), service_addresses)["shipper"]
    assert [group["targets"] for group in compose] == [[], []]


def test_the_staleness_alert_allows_six_stats_intervals() -> None:
    rules = yaml.safe_load(rendered_rules("local")["shipper.yml"])["groups"][0]["rules"]
    stale = next(r for r in rules if r["alert"] == "LogShipperStatsStale")
    assert stale["expr"].endswith(f"> {6 * STATS_INTERVAL_SECONDS}"), stale["expr"]
