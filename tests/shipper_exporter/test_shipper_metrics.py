"""Integration: the real rsyslogd, logstore, the log-forwarder and the shipper-exporter under
supervisord, on ports offset by 23400, with impstats every second instead of every 10 (the
patched STATS_INTERVAL_SECONDS renders into rsyslog.conf and the exporter's command). Lines sent
move rsyslog's counters (the exporter) and the forwarder's; with logstore stopped the spool's
backlog grows and the forwarder's retries count, and it drains once logstore is back.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator

import httpx
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from grader.polling import poll_until
from stack.paths import DataDir
from stack.runtimes.local import shipper
from stack.runtimes.local.runtime import LocalRuntime
from stack.topology import build, offset_ports
from tests.elk.test_shipper import needs_rsyslog

TOPOLOGY = build(environ=offset_ports(23400))
APP_INPUT = {"name": f"app({TOPOLOGY.get('shipper').port})", "module": "imtcp"}
SPOOL = {"name": "to-spool"}
CREATED = {"result": "created"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    data = DataDir(tmp_path_factory.mktemp("shipper-metrics"))
    runtime = LocalRuntime(data, TOPOLOGY)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(shipper, "STATS_INTERVAL_SECONDS", 1)
        try:
            runtime.up(only=["shipper-exporter"])
            yield runtime
        finally:
            runtime.down(purge=True)


def scrape(
    stack: LocalRuntime, token: str | None = None, component: str = "shipper-exporter"
) -> httpx.Response:
    token = token or (stack.data.secrets / "metrics_token").read_text().strip()
    url = stack.topology.get(component).metrics_url
    assert url is not None
    return httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=5)


def metrics(
    stack: LocalRuntime, component: str
) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    reply = scrape(stack, component=component)
    assert reply.status_code == 200, reply.text
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(reply.text)
        for s in family.samples
    }


def sample(stack: LocalRuntime, name: str, labels: dict[str, str] | None = None) -> float:
    """A series of rsyslog's (`rsyslog_*`, from the exporter) or of the forwarder's."""
    component = "shipper-exporter" if name.startswith("rsyslog_") else "log-forwarder"
    return metrics(stack, component).get((name, frozenset((labels or {}).items())), -1.0)


def send_app_lines(stack: LocalRuntime, lines: list[str]) -> None:
    with socket.create_connection(("127.0.0.1", stack.topology.get("shipper").port), 5) as sock:
        sock.sendall("".join(line + "\n" for line in lines).encode())


def at_least(target: float) -> Callable[[float], bool]:
    return lambda seen: seen >= target


@needs_rsyslog
@pytest.mark.integration
def test_counters_move_and_the_backlog_grows_while_logstore_is_down(stack: LocalRuntime) -> None:
    exporter = stack.topology.get("shipper-exporter")
    assert httpx.get(exporter.url(path="/health"), timeout=5).status_code == 200
    assert scrape(stack, token="wrong").status_code == 403
    assert httpx.get(exporter.metrics_url or "", timeout=5).status_code == 401

    # fresh: the newest line's time is now (rsyslog writes local time without a zone)
    stamp = poll_until(
        lambda: sample(stack, "rsyslog_impstats_last_timestamp_seconds"),
        "an impstats line read by the exporter",
        timeout=15,
        until=lambda t: t > 0,
    )
    assert abs(stamp - time.time()) < 10, f"last stats line at {stamp}, now {time.time()}"
    submitted = sample(stack, "rsyslog_input_submitted_total", APP_INPUT)
    spooled = sample(stack, "rsyslog_action_processed_total", SPOOL)
    created = sample(stack, "log_forwarder_events_total", CREATED)
    assert submitted >= 0 and spooled >= 0, "no input or to-spool action counters exposed"
    assert scrape(stack, token="wrong", component="log-forwarder").status_code == 403

    send_app_lines(stack, [orjson.dumps({"message": f"metrics {i}"}).decode() for i in range(20)])
    poll_until(
        lambda: sample(stack, "rsyslog_input_submitted_total", APP_INPUT),
        f"imtcp app submitted >= {submitted + 20}",
        timeout=15,
        until=at_least(submitted + 20),
    )
    poll_until(
        lambda: sample(stack, "rsyslog_action_processed_total", SPOOL),
        f"to-spool processed >= {spooled + 20}",
        timeout=15,
        until=at_least(spooled + 20),
    )
    poll_until(
        lambda: sample(stack, "log_forwarder_events_total", CREATED),
        f"the forwarder's created events >= {created + 20}",
        timeout=15,
        until=at_least(created + 20),
    )
    retries = sample(stack, "log_forwarder_bulk_requests_total", {"outcome": "retry"})

    stack.kill("logstore", hold=True)
    try:
        send_app_lines(
            stack, [orjson.dumps({"message": f"queued {i}"}).decode() for i in range(50)]
        )
        poll_until(
            lambda: sample(stack, "log_forwarder_backlog_bytes"),
            "the spool's backlog holding the 50 lines sent while logstore is down",
            timeout=15,
            until=at_least(50 * 100),
        )
        poll_until(
            lambda: sample(stack, "log_forwarder_bulk_requests_total", {"outcome": "retry"}),
            f"retried bulk requests > {retries} while logstore is down",
            timeout=15,
            until=lambda seen: seen > retries,
        )
    finally:
        stack.start("logstore")
    poll_until(
        lambda: sample(stack, "log_forwarder_backlog_bytes"),
        "the backlog drained once logstore is back",
        timeout=30,
        until=lambda seen: seen == 0,
    )
