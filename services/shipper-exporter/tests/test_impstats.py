"""impstats lines -> Prometheus metrics, on lines a real rsyslogd 8.2302 wrote
(impstats-8.2302.json: one batch while logstore was down, one after it came back)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import CollectorRegistry
from shipper_exporter.app import StatsFile
from shipper_exporter.impstats import BadLine, Snapshot, parse_line

FIXTURE = Path(__file__).parent / "impstats-8.2302.json"
QUEUE_LINE = (
    b'Fri Dec  4 15:28:53 2026: { "name": "to-logstore queue", "origin": "core.queue", '
    b'"size": 30, "enqueued": 90, "full": 0, "discarded.full": 0, "discarded.nf": 0, '
    b'"maxqsize": 30 }'
)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(stats: StatsFile) -> tuple[Samples, dict[str, str]]:
    """The exposition text parsed back: samples by (name, labels), and each family's type."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(stats)
    samples: Samples = {}
    types: dict[str, str] = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        types[family.name] = family.type
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples, types


def value(samples: Samples, metric: str, /, **labels: str) -> float:
    key = (metric, frozenset(labels.items()))
    assert key in samples, f"no {metric}{labels}; exposed: {sorted(n for n, _ in samples)}"
    return samples[key]


def test_a_real_queue_line_parses() -> None:
    line = parse_line(QUEUE_LINE)
    assert (line.origin, line.name) == ("core.queue", "to-logstore queue")
    assert line.values == {
        "size": 30,
        "enqueued": 90,
        "full": 0,
        "discarded.full": 0,
        "discarded.nf": 0,
        "maxqsize": 30,
    }
    # rsyslog writes the local time of its host, without a zone: so does mktime read it
    assert line.timestamp == datetime(2026, 12, 4, 15, 28, 53).timestamp()


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"rsyslogd: some message",
        b'{ "name": "x", "origin": "core.queue", "size": 1 }',  # no time: not log.file's format
        b'Fri Dec  4 15:28:53 2026: { "name": "x", "origin": ',  # cut in the middle
        b'Fri Dec  4 15:28:53 2026: { "origin": "core.queue", "size": 1 }',  # no name
    ],
)
def test_what_is_not_an_impstats_line_is_refused_and_counted(raw: bytes) -> None:
    with pytest.raises(BadLine):
        parse_line(raw)
    snapshot = Snapshot()
    snapshot.add(raw)
    assert (snapshot.lines, snapshot.bad_lines, snapshot.objects) == (0, 1, {})


def test_the_fixture_becomes_named_typed_metrics_and_the_newest_line_wins() -> None:
    samples, types = scrape(StatsFile(FIXTURE))
    q = {"name": "to-logstore queue"}
    # the second batch (logstore back): the queue drained
    assert value(samples, "rsyslog_queue_size", **q) == 0
    assert value(samples, "rsyslog_queue_enqueued_total", **q) == 90
    assert value(samples, "rsyslog_queue_max_size", **q) == 30
    assert value(samples, "rsyslog_queue_full_total", **q) == 0
    assert value(samples, "rsyslog_queue_discarded_full_total", **q) == 0
    action = {"name": "to-logstore"}
    assert value(samples, "rsyslog_action_processed_total", **action) == 90
    assert value(samples, "rsyslog_action_resumed_total", **action) == 1
    assert value(samples, "rsyslog_action_suspended_total", **action) == 0
    es = {"name": "omelasticsearch"}
    assert value(samples, "rsyslog_omelasticsearch_submitted_total", **es) == 91
    assert value(samples, "rsyslog_omelasticsearch_failed_http_total", **es) == 1
    assert value(samples, "rsyslog_omelasticsearch_failed_httprequests_total", **es) == 1
    assert value(samples, "rsyslog_omelasticsearch_failed_checkconn_total", **es) == 11
    assert value(samples, "rsyslog_omelasticsearch_response_bad_total", **es) == 0
    assert value(samples, "rsyslog_input_submitted_total", name="app(31000)", module="imtcp") == 90
    udp = {"name": "syslog-udp(127.0.0.1/31514/IPv4)", "module": "imudp"}
    assert value(samples, "rsyslog_input_submitted_total", **udp) == 0
    usage = {"name": "resource-usage"}
    assert value(samples, "rsyslog_process_max_resident_memory_bytes", **usage) == 21412 * 1024
    assert value(samples, "rsyslog_process_cpu_user_seconds_total", **usage) == pytest.approx(
        0.010126
    )
    newest = datetime(2026, 12, 4, 15, 29, 9).timestamp()
    assert value(samples, "rsyslog_impstats_last_timestamp_seconds") == newest
    assert value(samples, "rsyslog_impstats_lines_total") == 26
    assert value(samples, "rsyslog_impstats_bad_lines_total") == 0
    assert types["rsyslog_queue_size"] == types["rsyslog_queue_max_size"] == "gauge"
    assert types["rsyslog_queue_enqueued"] == "counter"  # the family; its sample ends in _total
    assert types["rsyslog_omelasticsearch_failed_http"] == "counter"


def test_an_origin_without_a_table_is_exposed_without_a_claimed_type(tmp_path: Path) -> None:
    path = tmp_path / "stats.json"
    path.write_bytes(
        b'Fri Dec  4 15:28:53 2026: { "name": "w0", "origin": "omfwd", "bytes.sent": 7 }\n'
    )
    samples, types = scrape(StatsFile(path))
    assert value(samples, "rsyslog_omfwd_bytes_sent", name="w0") == 7
    assert types["rsyslog_omfwd_bytes_sent"] == "unknown"


def test_before_the_first_line_the_timestamp_is_zero(tmp_path: Path) -> None:
    samples, _ = scrape(StatsFile(tmp_path / "not-written-yet.json"))
    assert value(samples, "rsyslog_impstats_last_timestamp_seconds") == 0
