"""The local log shipper (rsyslog, stack/config/rsyslog/rsyslog.conf).

Fast: the template renders for a real data dir and Debian's rsyslogd accepts it (`-N1`).
Integration: the shipper, logstore and the gateway on ports offset by 17000; an app line, a
line that is not JSON, syslog lines and gateway requests each reach their `logs-<dataset>-*`
index; events spooled while logstore is down survive a kill -9 of rsyslogd and the log-forwarder
and arrive once, and a forwarder that sends them all again stores nothing twice.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from elasticsearch import Elasticsearch
from log_forwarder import spool as spool_files

from grader.polling import poll_until
from stack.paths import DataDir
from stack.retention import retention
from stack.runtimes.local import shipper
from stack.runtimes.local.runtime import LocalRuntime
from stack.topology import build, offset_ports

OFFSET = 17000
RSYSLOGD = shutil.which("rsyslogd")
needs_rsyslog = pytest.mark.skipif(
    RSYSLOGD is None or not shipper.IMRELP.exists(),
    reason="needs Debian's rsyslog and rsyslog-relp (`python -m stack up` installs them)",
)


def _rendered(tmp_path: Path) -> tuple[DataDir, Path]:
    data = DataDir(tmp_path)
    c = build(environ=offset_ports(OFFSET)).units().get("shipper")
    shipper.prepare(data, c)
    return data, shipper.conf_path(data, c)


@needs_rsyslog
def test_rendered_config_is_valid_for_the_installed_rsyslogd(tmp_path: Path) -> None:
    data, conf = _rendered(tmp_path)
    check = subprocess.run(
        [str(RSYSLOGD), "-N1", "-f", str(conf)], capture_output=True, text=True, timeout=30
    )
    assert check.returncode == 0, f"rsyslogd -N1 refused {conf}:\n{check.stderr}{check.stdout}"
    text = conf.read_text()
    assert "<<" not in text and "pwd=" not in text, "rsyslog holds no password: it writes files"
    spool = shipper.spool_dir(data, build(environ=offset_ports(OFFSET)).units().get("shipper"))
    assert spool.stat().st_mode & 0o777 == 0o700, "the spool holds every service's logs"
    # A shipper, not the machine's syslog daemon: no /dev/log, no kernel log, nothing in /var.
    assert not re.search(r'load="(imuxsock|imklog)"|/var/', text)
    assert f'port="{OFFSET + 5000}"' in text and f'port="{OFFSET + 5514}"' in text
    assert str(shipper.access_log(data)) in text


# ---- integration ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    data = DataDir(tmp_path_factory.mktemp("shipper-stack"))
    runtime = LocalRuntime(data, build(environ=offset_ports(OFFSET)))
    runtime.up(only=["shipper", "gateway"])  # with the log-forwarder the shipper depends on
    yield runtime
    runtime.down(purge=True)


@pytest.fixture(scope="module")
def es(stack: LocalRuntime) -> Elasticsearch:
    password = (stack.data.secrets / "logs_reader_password").read_text().strip()
    return Elasticsearch(stack.topology.get("logstore").url(), basic_auth=("logs_reader", password))


def _send_tcp(port: int, lines: list[str]) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall("".join(line + "\n" for line in lines).encode())


def _hits(es: Elasticsearch, query: str) -> list[dict[str, Any]]:
    found = es.search(index="logs-*", q=query, size=1000, ignore_unavailable=True)
    return [h["_source"] | {"_index": h["_index"], "_id": h["_id"]} for h in found["hits"]["hits"]]


def _one(es: Elasticsearch, marker: str, timeout: float = 10) -> dict[str, Any]:
    hits = poll_until(
        lambda: _hits(es, marker), f"an event holding {marker} in logs-*", timeout=timeout
    )
    assert len(hits) == 1, f"expected one event holding {marker}, found {hits}"
    return hits[0]


@needs_rsyslog
@pytest.mark.integration
def test_each_source_reaches_its_dataset(stack: LocalRuntime, es: Elasticsearch) -> None:
    app_port = stack.topology.get("shipper").port
    syslog_port = stack.topology.get("shipper").ports["syslog"]
    mark = uuid.uuid4().hex[:10]
    _send_tcp(
        app_port,
        [
            orjson.dumps(
                {"log.level": "error", "message": f"app{mark} failed", "service.name": "auth"}
            ).decode(),
            f"not json at all unparsed{mark}",
        ],
    )
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.sendto(
            f"<11>Nov 28 21:00:00 myhost probe: udp{mark} disk full".encode(),
            ("127.0.0.1", syslog_port),
        )
    _send_tcp(syslog_port, [f"<14>1 2026-11-28T21:00:00.000Z myhost probe 42 - - tcp{mark} hi"])
    gateway = stack.topology.get("gateway").url()
    assert httpx.get(f"{gateway}/api/none{mark}").status_code == 404
    upstream_down = httpx.get(f"{gateway}/api/auth/down{mark}").status_code  # auth not started

    app = _one(es, f"app{mark}")
    assert (app["event.dataset"], app["_index"][:9]) == ("app", "logs-app-")
    assert app["tags"] == ["error"] and app["service.name"] == "auth"
    assert app["_id"] == app["event.id"]
    raw = _one(es, f"unparsed{mark}")
    assert raw["_index"].startswith("logs-unparsed-")
    assert raw["event.original"] == f"not json at all unparsed{mark}"
    udp_doc = _one(es, f"udp{mark}")
    assert (udp_doc["event.dataset"], udp_doc["log.level"], udp_doc["tags"]) == (
        "system",
        "error",
        ["error"],
    )
    assert udp_doc["_index"].startswith("logs-system-") and udp_doc["service.name"] == "probe"
    tcp_doc = _one(es, f"tcp{mark}")
    assert (tcp_doc["event.dataset"], tcp_doc["host.name"], tcp_doc["tags"]) == (
        "system",
        "myhost",
        [],
    )
    not_found = _one(es, f"none{mark}")
    assert not_found["_index"].startswith("logs-access-")
    assert (not_found["http.response.status_code"], not_found["tags"]) == (404, [])
    assert not_found["url.path"] == f"/api/none{mark}"
    # nginx's seconds (3 decimals) as ECS nanoseconds: a whole number of milliseconds.
    duration = not_found["event.duration"]
    assert 0 <= duration < 10**10 and duration % 10**6 == 0, f"event.duration {duration}"
    down = _one(es, f"down{mark}")
    assert down["http.response.status_code"] == upstream_down >= 500
    assert down["tags"] == ["error"]
    # Each daily index is under the retention policy (the templates applied at `up`).
    elastic = (stack.data.secrets / "elastic_password").read_text().strip()
    settings = httpx.get(
        f"{stack.topology.get('logstore').url()}/logs-*/_settings", auth=("elastic", elastic)
    ).json()
    policies = {index: s["settings"]["index"].get("lifecycle", {}) for index, s in settings.items()}
    assert len(policies) >= 4 and all(
        p.get("name") == retention().logs.ilm_policy for p in policies.values()
    ), policies


@needs_rsyslog
@pytest.mark.integration
def test_supervisord_and_postgres_logs_reach_the_system_dataset(
    stack: LocalRuntime, es: Elasticsearch
) -> None:
    """Programs that cannot send syslog are tailed: supervisord's own log (a program exiting)
    and PostgreSQL's, with their level words as ECS levels."""
    mark = uuid.uuid4().hex[:10]
    exited = f"2026-12-04 15:41:27,997 WARN exited: svc{mark} (terminated by SIGKILL; not expected)"
    with stack.data.program_log("supervisord").open("a") as log:
        log.write(exited + "\n")
    with stack.data.program_log("postgres").open("a") as log:
        log.write(f"2026-12-04 15:35:05.021 UTC [1] FATAL:  pg{mark} could not open file\n")
    supervisord = _one(es, f"svc{mark}")
    assert (supervisord["event.dataset"], supervisord["service.name"]) == ("system", "supervisord")
    assert (supervisord["log.level"], supervisord["tags"], supervisord["message"]) == (
        "warn",
        [],
        exited,
    )
    postgres = _one(es, f"pg{mark}")
    assert postgres["_index"].startswith("logs-system-") and postgres["service.name"] == "postgres"
    assert (postgres["log.level"], postgres["tags"]) == ("critical", ["error"])


def _spooled_ids(spool: Path, pattern: re.Pattern[bytes]) -> set[bytes]:
    found: set[bytes] = set()
    for path in spool.glob(spool_files.PATTERN):
        found |= set(pattern.findall(path.read_bytes()))
    return found


def _forwarder_duplicates(stack: LocalRuntime) -> float:
    """The forwarder's count of events the store answered 409 (already stored)."""
    token = (stack.data.secrets / "metrics_token").read_text().strip()
    url = stack.topology.get("log-forwarder").url() + "/metrics"
    text = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=5).text
    found = re.search(r'^log_forwarder_events_total\{result="duplicate"\} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


def _count_by_id(es: Elasticsearch, prefix: str, size: int = 1000) -> dict[str, int]:
    es_hits = es.search(index="logs-*", q=prefix, size=size)["hits"]["hits"]
    counts: dict[str, int] = {}
    for hit in es_hits:
        key = str(hit["_source"].get("message"))
        counts[key] = counts.get(key, 0) + 1
    return counts


@needs_rsyslog
@pytest.mark.integration
def test_kill_9_loses_nothing_and_a_resend_duplicates_nothing(
    stack: LocalRuntime, es: Elasticsearch
) -> None:
    """Events spooled while logstore is down survive a kill -9 of rsyslogd and the forwarder.
    Then the crash that makes the forwarder send lines again (stored, but their offset never
    saved) is replayed exactly: its offsets as they were at the crash are put back, so it sends
    all of them a second time. They must keep their ids and be stored once."""
    unit = stack.topology.get("shipper")
    spool = shipper.spool_dir(stack.data, unit)
    offsets = spool / "offsets.json"
    mark = uuid.uuid4().hex[:10]
    app = [
        orjson.dumps({"event.id": f"{mark}-{i:03d}", "message": f"crash{mark} app {i}"}).decode()
        for i in range(100)
    ]
    # no event.id: the shipper's own ids (a hash of the line; a UUID for syslog)
    app += [orjson.dumps({"message": f"crash{mark} hashed {i}"}).decode() for i in range(50)]
    system = [f"<13>1 2026-11-28T21:00:00Z h t - - - crash{mark} sys {i}" for i in range(50)]
    errors = shipper.error_file(stack.data, unit)
    stack.kill("logstore", hold=True)
    try:
        _send_tcp(unit.port, app)
        _send_tcp(unit.ports["syslog"], system)
        # Every line is in the spool before the crash (read from the spool files).
        pattern = re.compile(rb"crash" + mark.encode() + rb" (?:app|hashed|sys) \d+")
        poll_until(
            lambda: len(_spooled_ids(spool, pattern)),
            "all 200 lines in the shipper's spool",
            timeout=10,
            until=lambda n: n == 200,
        )
        stack.kill("shipper", hold=True)
        stack.kill("log-forwarder", hold=True)
        at_crash = offsets.read_bytes() if offsets.exists() else None
    finally:
        stack.start("logstore")
    stack.start("log-forwarder")
    stack.start("shipper")
    _sentinel(stack, es, f"first{mark}")
    first = _count_by_id(es, f"crash{mark}")
    assert (len(first), sum(first.values())) == (200, 200), (
        f"after the crash: {len(first)} distinct, {sum(first.values())} stored; "
        f"refused by the store:\n{_tail(errors)}\n"
        f"forwarder log:\n{_tail(Path(stack.log_file('log-forwarder')))}"
    )

    stack.stop("log-forwarder")
    if at_crash is None:
        offsets.unlink()  # read every spool file again from its start
    else:
        offsets.write_bytes(at_crash)
    stack.start("log-forwarder")  # sends the 200 again
    _sentinel(stack, es, f"second{mark}")
    again = _count_by_id(es, f"crash{mark}")
    assert again == first, f"a resend changed what is stored: {sum(again.values())} events"
    assert _forwarder_duplicates(stack) >= 200, (
        "the store answered no 409 to the replayed spool: nothing was sent again, nothing tested"
    )


def _tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else f"({path} is absent)"


def _sentinel(stack: LocalRuntime, es: Elasticsearch, marker: str) -> None:
    # The spool is FIFO: once a line sent now is stored, every earlier one has been sent.
    _send_tcp(stack.topology.get("shipper").port, [orjson.dumps({"message": marker}).decode()])
    _one(es, marker, timeout=30)
